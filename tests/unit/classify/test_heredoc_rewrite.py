"""Here-docs the grammar cannot parse, read as bash reads them (``_heredoc_rewrite``)."""

from __future__ import annotations

import pytest

from opsgate.classify._heredoc_rewrite import heredocs_as_strings


def test_partly_quoted_delimiter_is_a_literal_body() -> None:
    script = 'cat <<E"O"F > notes.md\n$(rm -rf ~)\nEOF'
    assert heredocs_as_strings(script) == "cat <<< '$(rm -rf ~)' > notes.md"


def test_two_heredocs_on_one_line_take_their_bodies_in_order() -> None:
    script = "cat <<'A' > a.sql; cat <<'B' > b.sql\nDROP TABLE t;\nA\nCREATE TABLE t (id int);\nB"
    assert heredocs_as_strings(script) == (
        "cat <<< 'DROP TABLE t;' > a.sql; cat <<< 'CREATE TABLE t (id int);' > b.sql"
    )


def test_commands_after_the_bodies_stay_commands() -> None:
    script = "cat <<'A' > a; cat <<'B' > b\none\nA\ntwo\nB\nrm -rf /srv/data"
    assert heredocs_as_strings(script) == "cat <<< 'one' > a; cat <<< 'two' > b\nrm -rf /srv/data"


def test_unquoted_body_keeps_its_expansions() -> None:
    assert heredocs_as_strings("sh <<X\nrm -rf $HOME/$(whoami)\nX") == (
        'sh <<< "rm -rf $HOME/$(whoami)"'
    )


def test_single_quotes_in_a_quoted_body_are_kept_literally() -> None:
    assert heredocs_as_strings("cat <<'Q'\nit's\nQ") == "cat <<< 'it'\\''s'"


def test_dash_form_strips_leading_tabs_from_body_and_delimiter() -> None:
    assert heredocs_as_strings("cat <<-'T' > f\n\t\thello\n\tT") == "cat <<< 'hello' > f"


def test_here_strings_are_not_mistaken_for_heredocs() -> None:
    assert heredocs_as_strings("cat <<< 'x'") is None


@pytest.mark.parametrize(
    "script",
    [
        pytest.param("cat <<'A'\nno end", id="body-never-ends"),
        pytest.param("echo 'open\ncat <<A\nx\nA", id="quote-open-at-line-end"),
        pytest.param("x=$(cat <<A\nbody\nA\n)", id="substitution-on-the-line"),
        pytest.param("(( y = x << 2 ))", id="arithmetic-shift"),
        pytest.param("echo `cat <<A`\nx\nA", id="backquote-on-the-line"),
        pytest.param("cat <<$D\nx\n$D", id="delimiter-with-dollar"),
        pytest.param('sh <<A\nrm -rf "$HOME"\nA', id="unquoted-body-with-double-quote"),
        pytest.param("sh <<A\necho x\\\nA\nrm -rf ~\nA", id="unquoted-line-continued-into-delim"),
        pytest.param("cat <<A \\\n> f\nx\nA", id="operator-line-continues"),
    ],
)
def test_what_it_cannot_read_with_certainty_stays_unrewritten(script: str) -> None:
    assert heredocs_as_strings(script) is None


def test_a_comment_hides_an_operator() -> None:
    assert heredocs_as_strings("echo hi # <<A\nrm -rf ~") is None
