"""The SELECT-only check reads SQL as SQL: a refused phrase inside a string literal, a quoted name or a comment is
accepted, the same phrase in the code is refused, whatever quotes, escapes and comments surround it."""

from __future__ import annotations

from re import escape

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from airflow_provider_cio.sources.sql_tokens import (
    MYSQL_READINGS,
    PostgresReading,
    TokenKind,
    mysql_tokens,
    postgres_tokens,
)
from airflow_provider_cio.sources.statements import check_select
from airflow_provider_cio.sync.convert.columns import QueryError

# Characters that mean something to a SQL tokeniser, and a few that do not (no ';': it is refused anywhere).
NASTY = "'\"`\\#-*/!$@() \n\reEuU&M5xy_"
content = st.text(alphabet=NASTY, max_size=24)

# (words, what the message names): the words are written in any case, separated by white space or comments
MYSQL_PHRASES = [
    (("INTO", "OUTFILE", "'x.csv'"), "INTO OUTFILE/DUMPFILE"),
    (("INTO", "DUMPFILE", "'x.bin'"), "INTO OUTFILE/DUMPFILE"),
    (("INTO", "@v"), "INTO @variable"),
    (("INTO", "@'v'"), "INTO @variable"),
    (("FOR", "UPDATE"), "(FOR UPDATE)"),
    (("FOR", "SHARE"), "(FOR SHARE)"),
    (("LOCK", "IN", "SHARE", "MODE"), "(LOCK IN SHARE MODE)"),
    (("GET_LOCK", "('k', 10)"), "calls GET_LOCK()"),
    (("`get_lock`", "('k', 10)"), "calls GET_LOCK()"),
]
POSTGRES_PHRASES = [
    (("FOR", "UPDATE"), "(FOR UPDATE)"),
    (("FOR", "NO", "KEY", "UPDATE"), "(FOR NO KEY UPDATE)"),
    (("FOR", "SHARE"), "(FOR SHARE)"),
    (("FOR", "KEY", "SHARE"), "(FOR KEY SHARE)"),
    (("dblink", "('dbname=shop', 'DELETE FROM users')"), "calls dblink()"),
    (("DBLINK_EXEC", "('dbname=shop', 'DELETE FROM users')"), "calls dblink_exec()"),
    (('public."dblink"', "('x', 'y')"), "calls dblink()"),
    (("lo_export", "(16400, '/tmp/out')"), "calls lo_export()"),
    (("lo_import", "('/etc/passwd')"), "calls lo_import()"),
    (("pg_read_file", "('/etc/passwd')"), "calls pg_read_file()"),
    (("pg_catalog.pg_read_binary_file", "('/etc/passwd')"), "calls pg_read_binary_file()"),
    (("pg_ls_dir", "('.')"), "calls pg_ls_dir()"),
    (("pg_advisory_lock", "(1)"), "calls pg_advisory_lock()"),
    (("pg_advisory_xact_lock_shared", "(1)"), "calls pg_advisory_xact_lock_shared()"),
]
MYSQL_SEPARATORS = st.sampled_from([" ", "\n", "\t", "/**/", " /* ' */ ", "# '\n", '-- "\n', "\r\n"])
POSTGRES_SEPARATORS = st.sampled_from([" ", "\n", "\t", "/**/", " /* ' /* $$ */ \" */ ", "-- '\n", "--$$\r"])


@st.composite
def written(draw: st.DrawFn, words: tuple[str, ...], separators: st.SearchStrategy[str]) -> str:
    """The words in a random case (keywords only), each followed by a separator."""
    text = ""
    for word in words:
        if word.replace("_", "").isalpha():
            word = "".join(draw(st.sampled_from([c.lower(), c.upper()])) for c in word)
        text += word + draw(separators)
    return text


# --- MySQL ------------------------------------------------------------------------------------------------------


def mysql_literal(text: str, quote: str) -> str:
    """``text`` as a MySQL string literal or quoted name that every reading ends at the same quote."""
    escaped = text.replace("\\", "\\\\") if quote != "`" else text
    return quote + escaped.replace(quote, quote * 2) + quote


@st.composite
def mysql_hiding_places(draw: st.DrawFn, phrase: str) -> str:
    """``phrase`` inside a literal, a quoted name or a comment, with nasty text around it."""
    inside = draw(content) + phrase + draw(content)
    place = draw(st.sampled_from(["'", '"', "`", "/*", "#", "-- "]))
    if place in ("'", '"', "`"):
        return mysql_literal(inside, place)
    if place == "/*":
        inside = " " + inside.replace("*/", "* /")
        return "/*" + inside + "*/"
    return place + inside.replace("\n", " ").replace("\r", " ") + "\n"


@pytest.mark.parametrize(("words", "named"), MYSQL_PHRASES, ids=[" ".join(w) for w, _ in MYSQL_PHRASES])
@settings(deadline=None, max_examples=60)
@given(data=st.data())
def test_mysql_a_phrase_inside_a_literal_or_comment_is_accepted_outside_refused(words, named, data) -> None:
    phrase = data.draw(written(words, MYSQL_SEPARATORS))
    hidden = data.draw(mysql_hiding_places(phrase))
    check_select(f"SELECT id, {hidden} AS a FROM t")
    check_select(f"SELECT id FROM t {hidden}")

    decoy = data.draw(mysql_hiding_places(data.draw(content)))
    with pytest.raises(QueryError, match=escape(named)):
        check_select(f"SELECT id, {decoy} AS a FROM t {phrase}")
    with pytest.raises(QueryError, match=escape(named)):
        check_select(f"SELECT {decoy} {phrase}")


@pytest.mark.parametrize(
    "opener", ["/*!", "/*!50100", "/*!50100 ", "/*M!100100", "/*M!"], ids=lambda opener: opener.strip()
)
@pytest.mark.parametrize(("words", "named"), MYSQL_PHRASES, ids=[" ".join(w) for w, _ in MYSQL_PHRASES])
def test_mysql_a_phrase_in_an_executable_comment_is_code(opener, words, named) -> None:
    with pytest.raises(QueryError, match=escape(named)):
        check_select(f"SELECT id FROM t {opener} {' '.join(words)} */")


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT '#', id FROM t INTO/**/OUTFILE 'out.csv'",
        "SELECT `#`, id FROM t INTO/**/OUTFILE 'out.csv'",
        "SELECT '/*', id FROM t INTO OUTFILE '*/'",
        "SELECT \"-- \", id FROM t INTO DUMPFILE 'out.bin'",
        "SELECT 'it\\'s', id FROM t INTO OUTFILE 'out.csv' -- '",
        # skipped by a server older than 9.99.99: its content is a comment up to the first */
        "SELECT id FROM t /*!99999 '*/ INTO OUTFILE 'out.csv' -- '*/",
        # under NO_BACKSLASH_ESCAPES, 'a\' ends at the second quote
        "SELECT 'a\\' INTO OUTFILE 'out.csv' -- ' AS id",
    ],
)
def test_mysql_the_walk_arounds_of_the_audit_are_refused(sql) -> None:
    with pytest.raises(QueryError, match=escape("INTO OUTFILE/DUMPFILE writes a file on the server")):
        check_select(sql)


def test_mysql_a_versioned_executable_comment_is_read_both_ways() -> None:
    with pytest.raises(QueryError, match="this statement starts with DROP"):
        check_select("/*!99999 SELECT */ DROP TABLE users")
    with pytest.raises(QueryError, match="this statement starts with DROP"):
        check_select("/*M!100000 DROP TABLE users */ SELECT id FROM users")


def test_mysql_a_refusal_only_another_sql_mode_sees_says_which_and_how_to_write_the_quote() -> None:
    with pytest.raises(QueryError) as refused:
        check_select("SELECT 'it\\'s for update' AS note, id FROM t")
    assert "(FOR UPDATE)" in str(refused.value)
    assert "sql_mode NO_BACKSLASH_ESCAPES" in str(refused.value) and "as ''" in str(refused.value)
    check_select("SELECT 'it''s for update' AS note, id FROM t")


@settings(deadline=None)
@given(text=content, escape_quotes_with_backslash=st.booleans())
def test_mysql_escaped_quotes_stay_inside_their_literal(text, escape_quotes_with_backslash) -> None:
    """The default reading: a backslash escapes the next character, a doubled quote is a quote."""
    escaped = text.replace("\\", "\\\\").replace("'", "\\'" if escape_quotes_with_backslash else "''")
    sql = f"SELECT '{escaped}' FOR"
    tokens = mysql_tokens(sql)
    assert [(t.kind, t.text) for t in tokens] == [
        (TokenKind.WORD, "SELECT"),
        (TokenKind.STRING, f"'{escaped}'"),
        (TokenKind.WORD, "FOR"),
    ]


@settings(deadline=None)
@given(text=content, reading=st.sampled_from(MYSQL_READINGS))
def test_mysql_quoted_names_give_back_the_name(text, reading) -> None:
    tokens = mysql_tokens(f"SELECT 1 AS {mysql_literal(text, '`')} FROM t", reading)
    assert [t.text for t in tokens if t.kind is TokenKind.QUOTED_NAME] == [text]


@settings(deadline=None)
@given(comment=content)
def test_mysql_quotes_inside_comments_open_nothing(comment) -> None:
    block = "/* " + comment.replace("*/", "* /") + " */"
    line = "# " + comment.replace("\n", " ").replace("\r", " ") + "\n"
    for sql in (f"SELECT id {block} FROM t", f"SELECT id {line} FROM t"):
        assert [t.text for t in mysql_tokens(sql)] == [
            "SELECT",
            "id",
            "FROM",
            "t",
        ]


def test_mysql_dashes_start_a_comment_only_before_a_space() -> None:
    assert [t.text for t in mysql_tokens("SELECT 1--1 AS x")] == ["SELECT", "1", "-", "-", "1", "AS", "x"]
    with pytest.raises(QueryError, match="FOR UPDATE"):
        check_select("SELECT id FROM t --\u00a0\nFOR UPDATE")
    with pytest.raises(QueryError, match="FOR UPDATE"):
        check_select("SELECT id FROM t --x FOR UPDATE")


# --- PostgreSQL ----------------------------------------------------------------------------------------------


def without_comment_marks(text: str) -> str:
    while "/*" in text or "*/" in text:
        text = text.replace("/*", "/ *").replace("*/", "* /")
    return text


@st.composite
def postgres_hiding_places(draw: st.DrawFn, phrase: str) -> str:
    """``phrase`` inside a literal (standard, E'', dollar-quoted), a quoted name or a (nested) comment."""
    inside = draw(content) + phrase + draw(content)
    place = draw(st.sampled_from(["'", "E'", "$", '"', "/*", "--"]))
    if place == "'":
        return "'" + inside.replace("\\", "\\\\").replace("'", "''") + "'"
    if place == "E'":
        return "E'" + inside.replace("\\", "\\\\").replace("'", draw(st.sampled_from(["\\'", "''"]))) + "'"
    if place == "$":
        tag = "$" + draw(st.from_regex(r"[a-z_]{0,4}", fullmatch=True)) + "$"
        literal = tag + inside + tag
        assume(literal.find(tag, len(tag)) == len(literal) - len(tag))
        return literal
    if place == '"':
        return '"' + inside.replace('"', '""') + '"'
    if place == "/*":
        before, after = without_comment_marks(draw(content)), without_comment_marks(draw(content))
        return f"/* {before} /* {without_comment_marks(inside)} */ {after} */"
    return "--" + inside.replace("\n", " ").replace("\r", " ") + "\n"


@pytest.mark.parametrize(("words", "named"), POSTGRES_PHRASES, ids=[" ".join(w) for w, _ in POSTGRES_PHRASES])
@settings(deadline=None, max_examples=60)
@given(data=st.data())
def test_postgres_a_phrase_inside_a_literal_or_comment_is_accepted_outside_refused(words, named, data) -> None:
    phrase = data.draw(written(words, POSTGRES_SEPARATORS))
    hidden = data.draw(postgres_hiding_places(phrase))
    check_select(f"SELECT id, {hidden} AS a FROM t", "postgresql")
    check_select(f"SELECT id FROM t {hidden}", "postgresql")

    decoy = data.draw(postgres_hiding_places(data.draw(content)))
    with pytest.raises(QueryError, match=escape(named)):
        check_select(f"SELECT id, {decoy} AS a FROM t {phrase}", "postgresql")
    with pytest.raises(QueryError, match=escape(named)):
        check_select(f"SELECT {decoy} {phrase}", "postgresql")


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM dblink('dbname=shop', 'SELECT 1') AS t(id int)",
        "SELECT '#', dblink_exec('dbname=shop', 'DELETE FROM users') AS id",
        "SELECT /* /* */ 'x */ dblink('')--' AS id",  # nested: the comment ends at the second */
        "SELECT $a$ $$ $a$ AS id, dblink('', '')",  # a dollar quote ends only at its own tag
        "SELECT 'a\\' AS id, dblink('', '') --'",  # standard_conforming_strings: 'a\' is a whole literal
        "SELECT E'\\\\' AS id, dblink('', '') --'",
        "SELECT \"dblink\"('', '') AS id",
    ],
)
def test_postgres_dblink_is_refused_however_it_is_written(sql) -> None:
    with pytest.raises(QueryError, match=escape("calls dblink")):
        check_select(sql, "postgresql")


def test_postgres_a_quote_escaped_by_backslash_is_read_both_ways() -> None:
    check_select("SELECT E'\\' dblink(' AS id", "postgresql")  # E'': the backslash escapes the quote
    with pytest.raises(QueryError, match="calls dblink"):
        check_select("SELECT 'a\\' dblink(' AS id", "postgresql")  # standard: the backslash is a character
    with pytest.raises(QueryError, match="standard_conforming_strings = off"):
        check_select("SELECT 'a\\'' AS note, dblink('x') --'", "postgresql")


def test_postgres_a_name_with_unicode_escapes_cannot_hide_a_call() -> None:
    with pytest.raises(QueryError, match="Unicode escapes"):
        check_select("SELECT U&\"\\0064blink\"('', '') AS id", "postgresql")
    check_select("SELECT U&'\\0064blink(' AS id", "postgresql")


@settings(deadline=None)
@given(text=content, tag=st.from_regex(r"[A-Za-z_][A-Za-z_0-9]{0,3}|", fullmatch=True))
def test_postgres_dollar_quotes_end_at_their_own_tag(text, tag) -> None:
    quote = f"${tag}$"
    body = text
    assume(f"{quote}{body}{quote}".find(quote, len(quote)) == len(quote) + len(body))
    tokens = postgres_tokens(f"SELECT {quote}{body}{quote} FOR", PostgresReading())
    assert [(t.kind, t.text) for t in tokens] == [
        (TokenKind.WORD, "SELECT"),
        (TokenKind.STRING, f"{quote}{body}{quote}"),
        (TokenKind.WORD, "FOR"),
    ]


def test_postgres_words_with_dollars_do_not_open_a_dollar_quote() -> None:
    assert [t.text for t in postgres_tokens("SELECT a$b$ FROM t")] == ["SELECT", "a$b$", "FROM", "t"]
    assert [t.text for t in postgres_tokens("SELECT $1 FROM t")] == ["SELECT", "$1", "FROM", "t"]


# --- what is not refused -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "dialect"),
    [
        ("SELECT id, 'for update' AS note FROM t", "mysql"),
        ("SELECT id, `for` FROM t WHERE note NOT LIKE '%INTO OUTFILE%'", "mysql"),
        ("SELECT id, email AS `into`, 1 AS `@` FROM t", "mysql"),
        ("SELECT lock_id AS id FROM locks", "mysql"),
        ("SELECT id, \"for\", 'dblink(' AS note FROM t", "postgresql"),
        ("SELECT id FROM dblinks", "postgresql"),
        ("WITH x AS (SELECT 1 AS id) SELECT id FROM x", "postgresql"),
    ],
)
def test_ordinary_queries_are_accepted(sql, dialect) -> None:
    check_select(sql, dialect)
