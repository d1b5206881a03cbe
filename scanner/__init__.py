"""Who is this member? Member codes from camera frames, image files and keyboard-wedge scanners,
and their offline signature check. Imports nothing else of ours, and returns codes, never text.

Import the module you need (the package itself imports nothing, so ``scanner.codes`` alone does
not load OpenCV):

* ``scanner.codes``: ``verify(text, keys, now, deny=, skew_s=, replay_guard=)`` ->
  ``MemberCode | ScanRefused``; ``mint_app_code(...)`` for head office; ``DenyList``,
  ``MemoryReplayGuard``, ``Reason``.
* ``scanner.wedge``: ``BurstDetector`` (key events -> ``WedgeScan`` or ``TypedLine``) and
  ``verify_typed(text, keys, now, ...)``, which undoes other keyboard layouts.
* ``scanner.decoders``: ``make_decoder(name)`` (zxing, zbar, opencv) with fallback.
* ``scanner.images``: ``read_image(path)``, ``scan_frame(frame, decoder, keys, now, ...)``.
* ``scanner.camera``: ``CameraReader(source, decoder, on_event)`` in a background thread.
* ``scanner.keys``: ``load_public_keys(folder)`` (``<key id>.pub``), ``load_private_key(path)``.
"""
