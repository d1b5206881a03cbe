"""``till scan`` and ``till headoffice token`` through ``terminal.cli.main`` and a subprocess."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from scanner.keys import private_pem, public_pem
from terminal.cli import main

ROOT = Path(__file__).resolve().parents[2]
HERE = ROOT / "fixtures" / "scanner"
MANIFEST: dict[str, Any] = json.loads((HERE / "manifest.json").read_text(encoding="utf-8"))
AT = (dt.datetime.fromisoformat(MANIFEST["fixture_time"]) + dt.timedelta(minutes=1)).isoformat()
CARD = "2000000000016"


@pytest.fixture(autouse=True)
def till_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    data = tmp_path / "data"
    monkeypatch.setenv("TILL_DATA_DIR", str(data))
    monkeypatch.setenv("TILL_LANGUAGE", "en")
    monkeypatch.delenv("TILL_DECODER", raising=False)
    monkeypatch.delenv("TILL_CONFIG", raising=False)
    return data


def till(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip() else None, err.strip()


def test_an_image_prints_member_kind_and_validity(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = till(
        capsys, "scan", "--image", str(HERE / "clean.jpg"), "--demo-keys", "--at", AT
    )
    assert (code, err) == (0, "")
    assert out == {
        "valid": True,
        "kind": "app",
        "member_id": "M000001",
        "card_number": None,
        "key_id": "test-2026",
        "valid_from": "2026-03-02T10:00:00+00:00",
        "valid_until": "2026-03-02T10:05:00+00:00",
        "layout": None,
        "source": "image",
    }


@pytest.mark.parametrize("decoder", ["zxing", "zbar", "opencv"])
def test_each_decoder_can_be_chosen(capsys: pytest.CaptureFixture[str], decoder: str) -> None:
    code, out, _ = till(capsys, "scan", "--image", str(HERE / "card.jpg"), "--decoder", decoder)
    assert code == 0 and out["kind"] == "card" and out["card_number"] == CARD


def test_the_decoder_comes_from_the_config_file(
    capsys: pytest.CaptureFixture[str], till_env: Path
) -> None:
    till_env.mkdir()
    (till_env / "config.toml").write_text('decoder = "quagga"\n')
    code, _, err = till(capsys, "scan", "--image", str(HERE / "card.jpg"))
    assert code == 2 and "quagga" in err


def test_the_clip_prints_the_member_who_showed_up(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = till(
        capsys, "scan", "--video", str(HERE / "clip.avi"), "--demo-keys", "--at", AT
    )
    assert code == 0 and out["member_id"] == MANIFEST["clip"]["ids"][0]
    assert out["source"] == "video"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--image", str(HERE / "clean.jpg"), "--demo-keys"], "this member code has expired"),
        (["--image", str(HERE / "forged.png"), "--demo-keys", "--at", AT], "not genuine"),
        (["--image", str(HERE / "clean.jpg"), "--at", AT], "key this till does not know"),
        (["--image", str(HERE / "nothing.jpg"), "--demo-keys"], "no member code found"),
        (["--image", "/no/such.png", "--demo-keys"], "no such file: /no/such.png"),
        (["--video", "/no/such.avi"], "no such file"),
        (["--video", str(HERE / "manifest.json")], "not a video"),
        (["--image", str(HERE / "manifest.json")], "not an image"),
        (["--camera", "63", "--timeout", "2"], "the camera 63 cannot be opened"),
        (["--text", "2000000000017"], "the check digit does not match"),
        (["--text", "ΛΤΑΒΓ"], "keyboard layout other than English (US)"),
        (["--text", "hello"], "not a member code"),
        (["--text", CARD, "--at", "yesterday"], "bad input"),
    ],
)
def test_refusals_are_one_translated_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = till(capsys, "scan", *argv)
    assert code == 2 and out is None
    assert err.startswith("till: ") and message in err and "\n" not in err


def test_refusals_are_translated(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TILL_LANGUAGE", "el")
    _, _, err = till(capsys, "scan", "--text", "2000000000017")
    assert "ψηφίο ελέγχου" in err


def test_a_typed_card_number_and_a_wedge_text_through_a_layout(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = till(capsys, "scan", "--text", "2000 0000 0001 6")
    assert code == 0 and out["card_number"] == CARD and out["source"] == "text"
    azerty = CARD.translate(str.maketrans("0123456789", "à&é\"'(-è_ç"))
    code, out, _ = till(capsys, "scan", "--text", azerty)
    assert code == 0 and out["card_number"] == CARD and out["layout"] == "fr"


def test_keys_come_from_the_data_dir_and_the_deny_list_too(
    capsys: pytest.CaptureFixture[str], till_env: Path, tmp_path: Path
) -> None:
    (till_env / "keys").mkdir(parents=True)
    shutil.copy(ROOT / "fixtures" / "keys" / "test-2026.pub", till_env / "keys")
    image = ["--image", str(HERE / "clean.jpg"), "--at", AT]
    assert till(capsys, "scan", *image)[1]["member_id"] == "M000001"
    (till_env / "denylist.json").write_text(
        json.dumps({"blocked_members": ["M000001"], "revoked_cards": [CARD]})
    )
    code, _, err = till(capsys, "scan", *image)
    assert code == 2 and "this member is blocked" in err
    code, _, err = till(capsys, "scan", "--text", CARD)
    assert code == 2 and "this card has been revoked" in err
    (till_env / "denylist.json").write_text("[1, 2]")
    code, _, err = till(capsys, "scan", "--text", CARD)
    assert code == 2 and "deny-list" in err


def test_keys_from_a_folder_and_bad_key_folders(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = till(capsys, "scan", "--text", CARD, "--keys", str(empty))
    assert code == 2 and "no head office keys" in err
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "k1.pub").write_text("garbage")
    code, _, err = till(capsys, "scan", "--text", CARD, "--keys", str(bad))
    assert code == 2 and "cannot be read" in err


def test_token_then_scan_is_the_whole_loop_with_a_rotated_key(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    key = Ed25519PrivateKey.generate()
    keys = tmp_path / "keys"
    keys.mkdir()
    (tmp_path / "shop-2027.pem").write_bytes(private_pem(key))
    (keys / "shop-2027.pub").write_bytes(public_pem(key))
    shutil.copy(ROOT / "fixtures" / "keys" / "test-2026.pub", keys)
    png = tmp_path / "code.png"
    code, minted, _ = till(
        capsys,
        "headoffice", "token", "M000042", "--valid", "120",
        "--key", str(tmp_path / "shop-2027.pem"), "--png", str(png),
    )  # fmt: skip
    assert code == 0 and minted["key_id"] == "shop-2027" and png.is_file()
    assert minted["test_only_key"] is False
    code, out, _ = till(capsys, "scan", "--image", str(png), "--keys", str(keys))
    assert code == 0 and out["member_id"] == "M000042" and out["key_id"] == "shop-2027"
    code, out, _ = till(capsys, "scan", "--text", minted["code"], "--keys", str(keys))
    assert code == 0 and out["member_id"] == "M000042"


def test_token_with_the_test_key_and_its_refusals(capsys: pytest.CaptureFixture[str]) -> None:
    code, minted, _ = till(capsys, "headoffice", "token", "M000001", "--at", AT)
    assert code == 0 and minted["key_id"] == "test-2026" and minted["code"].startswith("LT")
    assert minted["test_only_key"] is True
    assert minted["valid_until"] == "2026-03-02T10:06:00+00:00"
    assert till(capsys, "headoffice", "token", "no spaces")[0] == 2
    assert till(capsys, "headoffice", "token", "M1", "--valid", "0")[0] == 2
    assert till(capsys, "headoffice", "token", "M1", "--key", __file__)[0] == 2


def test_the_installed_till_command_runs_in_a_subprocess(tmp_path: Path) -> None:
    till_bin = Path(sys.executable).with_name("till")
    env = {"TILL_DATA_DIR": str(tmp_path), "TILL_LANGUAGE": "en", "PATH": "/usr/bin:/bin"}
    args = ["scan", "--image", str(HERE / "bare_png.png"), "--demo-keys", "--at", AT]
    out = subprocess.run([str(till_bin), *args], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["member_id"] == "M000002"
    bad = subprocess.run(
        [str(till_bin), "scan", "--image", str(HERE / "forged.png"), "--demo-keys", "--at", AT],
        capture_output=True,
        text=True,
        env=env,
    )
    assert bad.returncode == 2 and bad.stdout == ""
    assert (
        bad.stderr.strip() == "till: this member code is not genuine (its signature does not match)"
    )


def test_a_missing_decoder_falls_back_with_a_translated_message(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['zxingcpp'] = None\n"
        "from terminal.cli import main\n"
        f"raise SystemExit(main(['scan', '--image', {str(HERE / 'card.jpg')!r}]))\n"
    )
    env = {"TILL_DATA_DIR": str(tmp_path), "TILL_LANGUAGE": "pl", "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["card_number"] == CARD
    assert out.stderr.strip() == "till: dekoder QR 'zxing' nie jest zainstalowany; używam 'zbar'"


def test_every_scan_error_and_refusal_has_a_text() -> None:
    from scanner.codes import Reason
    from terminal.i18n import catalogue_keys

    english = catalogue_keys("en")
    codes = ["file_not_found", "unreadable_image", "image_too_large"]
    codes += ["unreadable_video", "camera_failed", "no_code", "no_decoder"]
    keys = [f"scan.error.{c}" for c in codes] + [f"scan.refused.{r.value}" for r in Reason]
    assert [k for k in keys if k not in english] == []
