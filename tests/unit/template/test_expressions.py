"""Script expressions: Jinja2 expressions in a sandbox that reads data and nothing else."""

from __future__ import annotations

from typing import Any

import pytest

from template_service.domain.expressions import (
    MAX_SOURCE_LENGTH,
    ExpressionError,
    ScriptFailed,
    compile_expression,
    evaluate,
    quote,
    run_script,
)

CONTEXT: dict[str, Any] = {
    "entities": {"spaceKey": "ENG", "items": "an entity named like a dict method"},
    "getSpace": {
        "response": {
            "status": 200,
            "body": {"results": [{"id": "123456", "key": "ENG"}, {"id": "7", "key": "OPS"}]},
        }
    },
    "getPage": {"response": {"body": {"version": {"number": 7}, "title": "True"}}},
}


def test_an_expression_returns_the_native_value_never_reparsed_text() -> None:
    assert evaluate("context.getSpace.response.body.results[0].id", CONTEXT) == "123456"
    assert evaluate("context.getPage.response.body.title", CONTEXT) == "True"
    assert evaluate("context.getPage.response.body.version.number + 1", CONTEXT) == 8
    assert evaluate("'123456'", CONTEXT) == "123456"
    assert evaluate("[1, 'a', none, true]", CONTEXT) == [1, "a", None, True]
    keys = "context.getSpace.response.body.results | map(attribute='key') | list"
    assert evaluate(keys, CONTEXT) == ["ENG", "OPS"]


def test_the_evaluation_sees_the_run_context_and_data_before_methods() -> None:
    assert evaluate("context.entities.items", CONTEXT) == "an entity named like a dict method"
    assert evaluate("context.entities.spaceKey.lower()", CONTEXT) == "eng"
    assert evaluate("context.entities.get('spaceKey')", CONTEXT) == "ENG"
    with pytest.raises(ExpressionError, match="undefined"):
        evaluate("entities", CONTEXT)


def test_a_missing_value_is_an_error_unless_tested_for() -> None:
    with pytest.raises(ExpressionError, match="no attribute 'nope'"):
        evaluate("context.entities.nope", CONTEXT)
    with pytest.raises(ExpressionError, match="no attribute 'nope'"):
        evaluate("[context.entities.nope]", CONTEXT)
    assert evaluate("context.entities.nope is defined", CONTEXT) is False
    assert evaluate("context.entities.nope | default('all')", CONTEXT) == "all"


def test_quote_makes_a_cql_or_jql_string_literal() -> None:
    assert quote('say "hi" \\ bye') == '"say \\"hi\\" \\\\ bye"'
    assert evaluate("'text ~ ' ~ quote(context.entities.spaceKey)", CONTEXT) == 'text ~ "ENG"'
    assert evaluate("context.entities.spaceKey | quote", CONTEXT) == '"ENG"'
    injected = {"entities": {"q": 'x" OR space = "SECRET'}}
    assert evaluate("'text ~ ' ~ quote(context.entities.q)", injected) == (
        'text ~ "x\\" OR space = \\"SECRET"'
    )
    with pytest.raises(ExpressionError):
        evaluate("quote(context.getSpace)", CONTEXT)


def test_fail_stops_the_run_with_its_message() -> None:
    source = (
        "context.getSpace.response.body.results[0].id if context.getSpace.response.body.results"
        " else fail('No space has the key ' ~ quote(context.entities.spaceKey) ~ '.')"
    )
    assert evaluate(source, CONTEXT) == "123456"
    empty = {**CONTEXT, "getSpace": {"response": {"body": {"results": []}}}}
    with pytest.raises(ScriptFailed) as failed:
        evaluate(source, empty)
    assert failed.value.message == 'No space has the key "ENG".'
    with pytest.raises(ScriptFailed, match="line one line two"):
        evaluate("'line one\\nline two' | fail", CONTEXT)
    with pytest.raises(ScriptFailed) as long:
        evaluate("fail('x' * 1000)", CONTEXT)
    assert len(long.value.message) == 300


def test_run_script_wraps_each_output_as_a_value_for_later_nodes() -> None:
    outputs = run_script(
        {"nextVersion": "context.getPage.response.body.version.number + 1", "path": "'pages'"},
        CONTEXT,
    )
    assert outputs == {"nextVersion": {"value": 8}, "path": {"value": "pages"}}
    with pytest.raises(ExpressionError, match=r"^broken: "):
        run_script({"broken": "context.nope.value"}, CONTEXT)


@pytest.mark.parametrize(
    "source",
    [
        "''.__class__.__mro__",
        "''.__class__.__mro__[1].__subclasses__()",
        "context.__class__",
        "context.__class__.__init__.__globals__",
        "cycler.__init__.__globals__",
        "joiner.__init__.__globals__",
        "namespace.__init__.__globals__",
        "quote.__globals__",
        "fail.__code__",
        "context.entities.spaceKey.__class__.__base__",
        "context['__class__']",
        "(1).__class__",
        "range.__self__",
        "dict.__subclasses__()",
        "context.entities.pop('spaceKey')",
        "context.entities.update({'spaceKey': 'x'})",
        "context.getSpace.response.body.results.append(1)",
    ],
)
def test_attribute_access_beyond_data_is_refused(source: str) -> None:
    with pytest.raises(ExpressionError):
        evaluate(source, CONTEXT)
    assert CONTEXT["entities"]["spaceKey"] == "ENG"


@pytest.mark.parametrize(
    "source",
    [
        "9 ** (9 ** 9)",
        "2 ** 100000",
        "10 ** 5000",
        "'a' * 100000000",
        "[0] * 100000000",
        "100000000 * 'a'",
        "('a' * 60000) + ('a' * 60000)",
        "range(100000000) | list",
        "range(1001) | list",
        "range(1000) | join('x' * 1000)",
        "'%999999999s' % 'x'",
        "'x'.replace('x', 'xxxxxxxxxx')",
        "'{:>999999999}'.format('x')",
        "'x'.center(999999999)",
        "'x'.ljust(999999999)",
        "'x'.zfill(999999999)",
        "'\\t'.expandtabs(999999999)",
        "','.join(range(1000) | map('string'))",
        "lipsum(999999)",
    ],
)
def test_cpu_and_memory_bombs_are_refused(source: str) -> None:
    with pytest.raises(ExpressionError):
        evaluate(source, CONTEXT)


def test_arithmetic_and_repetition_within_bounds_still_work() -> None:
    assert evaluate("2 ** 10", CONTEXT) == 1024
    assert evaluate("'ab' * 3", CONTEXT) == "ababab"
    assert evaluate("[1] * 2 + [2]", CONTEXT) == [1, 1, 2]
    assert evaluate("7 % 3", CONTEXT) == 1
    assert evaluate("range(3) | map('string') | join(',')", CONTEXT) == "0,1,2"


@pytest.mark.parametrize(
    "source", ["'x' | center(99)", "'x' | indent(99)", "'x' | format(1)", "'x' | replace('x', 'y')"]
)
def test_filters_that_can_build_huge_text_are_not_available(source: str) -> None:
    with pytest.raises(ExpressionError, match="No filter named"):
        compile_expression(source)


def test_a_result_must_be_bounded_json_data() -> None:
    with pytest.raises(ExpressionError, match="larger than"):
        evaluate("['x' * 60000, 'y' * 60000]", CONTEXT)
    with pytest.raises(ExpressionError, match="JSON data"):
        evaluate("cycler(1, 2)", CONTEXT)
    with pytest.raises(ExpressionError, match="JSON data"):
        evaluate("range(3)", CONTEXT)
    with pytest.raises(ExpressionError, match="finite"):
        evaluate("1e308 * 10", CONTEXT)


def test_a_syntax_error_or_an_overlong_source_is_refused_when_compiling() -> None:
    with pytest.raises(ExpressionError, match="does not compile"):
        compile_expression("context.getPage +")
    with pytest.raises(ExpressionError, match="does not compile"):
        compile_expression("1 }} {{ 2")
    with pytest.raises(ExpressionError, match="limited to"):
        compile_expression("1 + " * MAX_SOURCE_LENGTH + "1")
    with pytest.raises(ExpressionError, match="non-empty"):
        compile_expression("  ")
    for deep in ("(" * 999 + "1" + ")" * 999, "[" * 999 + "]" * 999):
        with pytest.raises(ExpressionError, match="nested too deeply"):
            compile_expression(deep)


def test_compiling_lists_the_paths_an_expression_reads() -> None:
    expression = compile_expression(
        "(context.getSpace.response.body.results | first).id if context.entities['spaceKey']"
        " else fail(quote(context.entities.spaceKey.upper()))"
    )
    assert set(expression.paths) == {
        ("context", "getSpace", "response", "body", "results"),
        ("context", "entities", "spaceKey"),
        ("context", "entities", "spaceKey", "upper"),
        ("fail",),
        ("quote",),
    }
