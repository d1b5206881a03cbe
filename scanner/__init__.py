"""Who is this member? Member codes from camera frames, image files and keyboard-wedge scanners,
and their offline signature check. Imports nothing else of ours."""
