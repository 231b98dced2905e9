"""Workspace options shared by the Slack-facing services: tokens, defaults, clear errors."""

from __future__ import annotations

import pytest

from slack_client.workspaces import WorkspaceSpecError, environment_tokens, workspace_pairs

pytestmark = pytest.mark.unit


def test_each_workspace_takes_its_token_from_the_named_variable() -> None:
    environ = {"TOKEN_A": "xoxb-a", "TOKEN_B": "xoxb-b"}
    tokens = environment_tokens(["a=TOKEN_A", "b=TOKEN_B"], environ=environ)
    assert {name: t.get_secret_value() for name, t in tokens.items()} == {
        "a": "xoxb-a",
        "b": "xoxb-b",
    }


def test_no_option_means_the_default_workspace_unless_told_otherwise() -> None:
    environ = {"SLACK_BOT_TOKEN": "xoxb-default"}
    assert list(environment_tokens([], environ=environ)) == ["default"]
    assert environment_tokens([], default=False, environ=environ) == {}


def test_an_unset_or_empty_variable_is_refused_by_name() -> None:
    with pytest.raises(WorkspaceSpecError, match="workspace a: environment variable X is not set"):
        environment_tokens(["a=X"], environ={"X": ""})
    with pytest.raises(WorkspaceSpecError, match="SLACK_BOT_TOKEN is not set"):
        environment_tokens([], environ={})


@pytest.mark.parametrize("spec", ["a", "=X", "a=", ""])
def test_a_malformed_option_names_the_option_and_the_expected_form(spec: str) -> None:
    with pytest.raises(WorkspaceSpecError) as raised:
        workspace_pairs("--workspace-credential", [spec], metavar="NAME=CREDENTIAL")
    assert str(raised.value) == f"--workspace-credential {spec!r}: expected NAME=CREDENTIAL"


def test_pairs_map_workspace_to_value_and_the_token_is_never_shown() -> None:
    assert workspace_pairs("--w", ["a=vault/a", "b=x=y"], metavar="NAME=V") == {
        "a": "vault/a",
        "b": "x=y",
    }
    token = environment_tokens(["a=T"], environ={"T": "xoxb-secret"})["a"]
    assert "xoxb-secret" not in repr(token)
