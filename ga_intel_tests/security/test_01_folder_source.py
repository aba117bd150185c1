"""Finding 1: a tenant admin must not point the folder source at another tenant's files.

The attacker, the admin of tenant `mallory`, wants the customers in tenant `victim`'s
drop folder. Every way in is tried against the real platform database, the real
Settings page (AppTest), the real `ga-intel` CLI and a real master-data run:

- the Settings form (its folder path is read-only) and `store.update_section`, the
  form's save path, with the victim's folder: refused at `folder.path`, nothing stored;
- a stored path to the victim's folder (as if written before folders were confined), a
  symlinked subfolder and a symlinked file inside mallory's own drop folder: the
  master-data run refuses each, and mallory's tables stay empty;
- "Test connection" on host paths that exist and that do not: the same answer, so it
  probes nothing;
- the operator's `ga-intel tenant set-folder`: refuses a path leaving the drop folder.
"""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from streamlit.testing.v1 import AppTest

from ga_intel.cli import main
from ga_intel.connectors import check_section
from ga_intel.db import control
from ga_intel.errors import TenantFileError
from ga_intel.tenancy import folders, store, tenant_file
from ga_intel_tests.conftest import drop_folder, tenant_data
from ga_intel_tests.helpers.masterdata import LOC_HEADER, LOCS, USER_HEADER, USERS, error_of, materialize, rows, xlsx
from ga_intel_tests.helpers.pages import APP, rendered

VICTIM_CUSTOMER = USERS[0][1]  # "Ava"


@pytest.fixture
def tenants(db, secret_key):
    victim = drop_folder("victim")
    (victim / "UserReport.xlsx").write_bytes(xlsx(USER_HEADER, USERS))
    (victim / "Locations_List.xlsx").write_bytes(xlsx(LOC_HEADER, LOCS))
    drop_folder("mallory")
    for tenant_id in ("victim", "mallory"):
        store.add(tenant_file.validate(tenant_data(tenant_id), "test"))
    assert materialize("victim").success and rows("victim", "users")
    return victim


def stored_folder(tenant_id: str):
    with control() as conn:
        return conn.execute(
            sa.text("SELECT config FROM control.tenant_settings WHERE tenant_id = :t AND section = 'folder'"),
            {"t": tenant_id},
        ).scalar()


def nothing_imported() -> None:
    assert rows("mallory", "users") == [] and rows("mallory", "locations") == []


def test_the_settings_page_shows_the_folder_read_only_and_a_save_cannot_change_it(tenants, monkeypatch):
    monkeypatch.setenv("GA_INTEL_DEV_LOGIN", "1")
    monkeypatch.setenv("GA_INTEL_DEV_USER", "admin@mallory.example")
    at = AppTest.from_file(APP, default_timeout=30)
    at.run()
    at.switch_page("views/settings.py")
    at.run()
    assert not at.exception, at.exception
    shown = at.text_input(key="mallory:folder:path")
    assert shown.disabled and shown.value == str(folders.tenant_root("mallory").resolve())
    assert str(tenants) not in rendered(at)

    before = stored_folder("mallory")
    for path in (str(tenants), "../victim", str(folders.tenant_root("mallory") / ".." / "victim")):
        with pytest.raises(TenantFileError) as err:
            store.update_section("mallory", "folder", {"path": path, "user_file": "UserReport.xlsx"})
        [(field, message)] = err.value.problems
        assert field == "folder.path" and "set by the platform operator" in message
    assert stored_folder("mallory") == before
    # The rest of the section stays editable, and saving it keeps the operator's path.
    store.update_section("mallory", "folder", {"user_file": "Users.xlsx"})
    assert store.get("mallory").folder.path is None and store.get("mallory").folder.user_file == "Users.xlsx"


def test_a_stored_path_to_another_tenants_folder_reads_nothing(tenants):
    # As if stored before folders were confined, or written to the database by hand.
    with control() as conn:
        conn.execute(
            sa.text(
                "UPDATE control.tenant_settings SET config = jsonb_set(config, '{path}', "
                "to_jsonb(CAST(:p AS text))) WHERE tenant_id = 'mallory' AND section = 'folder'"
            ),
            {"p": str(tenants)},
        )
    result = materialize("mallory")
    message = error_of(result)
    assert "outside tenant 'mallory'" in message and VICTIM_CUSTOMER not in message
    nothing_imported()


def test_symlinks_out_of_the_drop_folder_are_refused(tenants):
    mine = folders.tenant_root("mallory")
    os.symlink(tenants, mine / "linked")  # a folder leading out
    with pytest.raises(TenantFileError) as err:
        store.set_folder("mallory", "linked")
    assert "outside tenant 'mallory'" in dict(err.value.problems)["folder.path"]
    assert store.get("mallory").folder.path is None

    for name in ("UserReport.xlsx", "Locations_List.xlsx"):  # files leading out
        os.symlink(tenants / name, mine / name)
    result = materialize("mallory")
    assert "link to a file outside the folder" in error_of(result)
    nothing_imported()


def test_test_connection_does_not_reveal_host_paths(tenants):
    answers = []
    for probe in ("/etc", "/no/such/place", str(tenants)):
        config = store.get("mallory")
        config.folder.__dict__["path"] = probe  # what a stored path would be
        result = check_section("folder", config)
        assert not result.ok
        answers.append(result.detail.replace(repr(probe), "<probe>"))
    assert answers[0] == answers[1] == answers[2]
    assert "exists" not in answers[0] and "missing" not in answers[0]


def test_only_the_operator_sets_a_folder_and_only_inside_the_drop_folder(tenants):
    runner = CliRunner()
    refused = runner.invoke(main, ["tenant", "set-folder", "mallory", "../victim"])
    assert refused.exit_code == 2 and "outside tenant 'mallory'" in refused.output
    assert store.get("mallory").folder.path is None

    made = runner.invoke(main, ["tenant", "set-folder", "mallory", "incoming", "--create"])
    assert made.exit_code == 0, made.output
    assert store.get("mallory").folder.path == "incoming"
    assert (folders.tenant_root("mallory") / "incoming").is_dir()


def test_the_demo_tenant_reads_its_drop_folder(db, secret_key, tmp_path, monkeypatch):
    """`make dev`: the demo tenant's files live in its drop folder, and a demo tenant made
    before folders were confined ($GA_INTEL_HOME/demo/masterdata) is moved there."""
    from ga_intel import demo
    from ga_intel.demo.seed import seed_master_data

    (tmp_path / "dagster-home").mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster-home"))
    legacy = demo.tenant_settings()
    legacy["folder"] = {"path": str(tmp_path / "masterdata")}
    store.add(tenant_file.validate(legacy, "the demo tenant"))
    assert "its folder is now its drop folder" in demo.ensure_demo_tenant()
    assert store.get("demo").folder.path is None and "present" in demo.ensure_demo_tenant()
    lines = []
    seed_master_data(store.get("demo"), lines.append)
    assert lines[0] == "demo: loading master data ..." and "demo: master data loaded" in lines, lines
    assert (folders.tenant_root("demo") / "UserReport.xlsx").is_file() and rows("demo", "users")
