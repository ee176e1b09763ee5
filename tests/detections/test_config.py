"""The --config file: every table checked against what exists, one-line errors naming the key and the
file with the closest valid name; the variant ids README lists (stuffing, enumeration.distributed)
are configurable and change what is found."""

from __future__ import annotations

import random
import subprocess
import sys

import pytest

from nightowl.detections.catalog import check_config, load_all, read_config
from nightowl.sources.base import InputError
from tests.detections.events import Events, by_detection

BAD = [  # (config text, what the one line must say)
    ("[prepare]\nsesion_gap_minutes = 240\n", "[prepare] has no key 'sesion_gap_minutes' (did you mean 'session_gap_minutes'?)"),
    ("[exposure]\ndormant_dayz = 60\n", "[exposure] has no key 'dormant_dayz' (did you mean 'dormant_days'?)"),
    ('[detections."spray.singel_source"]\nmin_users = 8\n', "has no detection 'spray.singel_source' (did you mean 'spray.single_source'?)"),
    ('[detections."spray.single_source"]\nmin_user = 8\n', "has no key 'min_user' (did you mean 'min_users'?)"),
    ('[detections."stuffing"]\nmin_users = 8\n', "[detections.\"stuffing\"] has no key 'min_users'"),
    ('[detection."spray.single_source"]\nmin_users = 8\n', "unknown table [detection] (did you mean [detections]?)"),
    ("[prepare]\nsession_gap_minutes = 2.5\n", "session_gap_minutes must be a whole number, not 2.5"),
    ('[prepare]\nsession_gap_minutes = "6h"\n', "session_gap_minutes must be a whole number, not '6h'"),
    ('[detections."spray.single_source"]\nenabled = "no"\n', "enabled must be true or false, not 'no'"),
    ('[exposure]\ntest_pattern = "(("\n', "[exposure] test_pattern is not a valid regular expression"),
    ("min_users = 8\n", "unknown key 'min_users'"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "message"), BAD)
def test_a_misspelled_or_mistyped_key_in_any_table_is_refused_naming_it_and_the_file(tmp_path, text, message):
    path = tmp_path / "tuning.toml"
    path.write_text(text)
    with pytest.raises(InputError) as exc:
        read_config(path)
    assert str(exc.value).startswith(f"{path}: ") and message in str(exc.value)
    assert "\n" not in str(exc.value)


def test_every_table_accepts_its_real_keys_with_the_defaults_types(tmp_path):
    path = tmp_path / "tuning.toml"
    path.write_text(
        '[detections."spray.single_source"]\nmin_users = 8\nenabled = true\n'
        '[detections."stuffing"]\nstuffing_share = 0.5\n[detections."enumeration.distributed"]\nenabled = false\n'
        "[prepare]\nsession_gap_minutes = 240\n[exposure]\ndormant_days = 60\n"
        'test_pattern = "(^|[^a-z])(test|qa)([^a-z]|$)"\n'
    )
    assert read_config(path)["prepare"] == {"session_gap_minutes": 240}
    check_config({"detections": {"spray.distributed": {"merge_jaccard": 1}}})  # an int where a float is due


def test_hunt_with_a_misspelled_key_exits_2_with_one_line(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[prepare]\nsesion_gap_minutes = 240\n")
    log = tmp_path / "auth.log"
    log.write_text("Mar  2 08:00:00 bastion sshd[1]: Failed password for bob from 203.0.113.7 port 4 ssh2\n")
    proc = subprocess.run(
        [sys.executable, "-m", "nightowl", "hunt", str(log), "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    (line,) = proc.stderr.strip().splitlines()
    assert str(path) in line and "sesion_gap_minutes" in line and "session_gap_minutes" in line


def stuffing_events() -> Events:
    """150 leaked credentials tried once each from rotating addresses; two thirds of the names unknown."""
    ev = Events()
    rnd = random.Random(5)
    for n in range(150):
        known = n % 3 == 0
        ev.add(
            rnd.uniform(0, 600),
            f"user{n}@corp.example" if known else f"leaked{n}@corp.example",
            f"100.{n // 100}.{n % 100}.9",
            "bad_password" if known else "no_user",
            ua="python-requests/2.31",
        )
    return ev


@pytest.mark.detection("stuffing", fires=True)
@pytest.mark.detection("stuffing", fires=False)
def test_stuffing_is_configured_under_its_own_id():
    ev = stuffing_events()
    (found,) = by_detection(ev.hunt(), "stuffing")
    assert found.category == "credential_stuffing"
    # 67% unknown names: above a stuffing_share of 0.6, below 0.7 (then the campaign is a spray)
    (found,) = by_detection(ev.hunt({"detections": {"stuffing": {"stuffing_share": 0.6}}}), "stuffing")
    assert len(found.users) == 150
    findings = ev.hunt({"detections": {"stuffing": {"stuffing_share": 0.7}}})
    assert by_detection(findings, "stuffing") == []
    (spray,) = by_detection(findings, "spray.distributed")
    assert spray.category == "password_spray" and len(spray.users) == 150
    assert by_detection(ev.hunt({"detections": {"stuffing": {"enabled": False}}}), "stuffing") == []


@pytest.mark.detection("enumeration.distributed", fires=True)
@pytest.mark.detection("enumeration.distributed", fires=False)
def test_enumeration_distributed_is_configured_under_its_own_id():
    ev = stuffing_events()
    # every campaign with at least 60% unknown names enumerates when stuffing asks for more than that
    config = {
        "detections": {
            "stuffing": {"stuffing_share": 0.9},
            "enumeration.distributed": {"enumeration_share": 0.6},
        }
    }
    (found,) = by_detection(ev.hunt(config), "enumeration.distributed")
    assert found.category == "account_enumeration"
    config["detections"]["enumeration.distributed"]["enabled"] = False
    assert by_detection(ev.hunt(config), "enumeration.distributed") == []


def test_variants_name_thresholds_of_their_detection():
    for det in load_all():
        for variant, names in det.variants.items():
            assert names and set(names) <= set(det.thresholds), variant


def test_readme_documents_every_table_and_every_configurable_id_and_key():
    from nightowl.detections.catalog import config_tables
    from tests.conftest import REPO

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Detections", 1)[1].split("\n## ", 1)[0]
    for table, keys in config_tables().items():
        assert f"`[{table}]`" in section
        for key in keys:
            assert f"`{key}`" in section, f"[{table}] {key} is not documented"
    for det in load_all():
        assert f"`{det.id}`" in section, f"detection {det.id} is not documented"
        for variant, names in det.variants.items():
            assert f"`{variant}`" in section and all(f"`{n}`" in section for n in names)
