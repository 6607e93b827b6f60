"""The bank loader: every malformed file gives `file:line: id: what` and never a traceback."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from attnquiz import bank
from attnquiz.bank import check, load_file

DATA = Path(__file__).parent / "data"

GOOD = """\
questions:
  - id: t.one
    topic: demo
    difficulty: easy
    type: single
    prompt: {en: "Pick B", zh: "选 B"}
    choices:
      - {en: a, zh: 甲}
      - {en: b, zh: 乙}
    answer: B
    explanation: {en: because, zh: 因为}
    source: test
"""


def write(tmp_path: Path, text: str | bytes, name: str = "q.yaml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path) -> list[str]:
    return [str(p) for p in load_file(path, path.name)[1]]


def test_good_file_loads_with_line_numbers(tmp_path):
    questions, problems = load_file(write(tmp_path, GOOD))
    assert problems == []
    assert [q.id for q in questions] == ["t.one"]
    assert questions[0].line == 2
    assert questions[0].correct_indices() == (1,)


@pytest.mark.parametrize(
    "content, expected",
    [
        (b"", "q.yaml:1: -: file is empty"),
        (b"   \n# only a comment\n", "q.yaml:1: -: file is empty"),
        (b"42\n", "q.yaml:1: -: the file holds a single value"),
        (b"- a\n- b\n", "q.yaml:1: -: the file holds a list"),
        (b"questions: [\n  {id: x\n", "q.yaml:3: -: broken YAML"),
        (b"questions:\n  - id: a\n   topic: b\n", "q.yaml:3: -: broken YAML"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", "q.yaml:1: -: not UTF-8 text"),
        (b"questions: []\x00\x00", "q.yaml:1: -: contains NUL bytes"),
        (b"questions: !!python/object/apply:os.system ['echo pwned']\n", "q.yaml:1: -: tag tag:yaml.org,2002:python/object/apply:os.system is not allowed"),
        (b"questions: []\nquestions: []\n", "q.yaml:2: -: duplicate key 'questions'"),
        (b"a: &x {b: 1}\nc:\n  <<: *x\n", "q.yaml:3: -: merge keys (<<) are not supported"),
        (b"questions: []\n", "q.yaml:1: -: questions: [] has less than 1 item"),
        (b"questions: [1]\nextra: 2\n", "q.yaml:2: -: unknown field 'extra'"),
    ],
)
def test_malformed_files_give_one_located_line(tmp_path, content, expected):
    found = problems_of(write(tmp_path, content))
    assert found, "a malformed file must report a problem"
    assert any(p.startswith(expected) for p in found), found


def test_alias_bomb_is_refused_quickly(tmp_path):
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        refs = ",".join([f"*a{i - 1}"] * 9)
        lines.append(f"a{i}: &a{i} [{refs}]")
    lines.append("questions: *a9")
    found = problems_of(write(tmp_path, "\n".join(lines) + "\n"))
    assert len(found) == 1 and "alias bomb" in found[0], found


@pytest.mark.parametrize(
    "text",
    [
        "questions: " + "[" * 50_000 + "]" * 50_000 + "\n",
        "questions: " + "{a: " * 50_000 + "1" + "}" * 50_000 + "\n",
        "questions:\n  - " + "- " * 50_000 + "x\n",
    ],
    ids=["flow-sequences", "flow-mappings", "block-sequences"],
)
def test_deep_nesting_is_refused_without_crashing(tmp_path, text):
    """Run in a subprocess: libyaml's recursive composer would kill the interpreter, not raise."""
    path = write(tmp_path, text)
    result = subprocess.run([sys.executable, "-m", "attnquiz", "bank", "check", str(path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, (result.returncode, result.stderr[-500:])
    # Our own depth check or libyaml's (PyYAML >= 6.0.4 stops first on flow nesting): either words
    # it its own way; the behaviour is one problem line that names the file and the nesting.
    problems = result.stdout.strip().splitlines()
    assert len(problems) == 1, result.stdout[-500:]
    assert problems[0].startswith(f"{path}:") and any(w in problems[0].lower() for w in ("nesting", "depth")), problems[0]
    assert "Traceback" not in result.stderr


def test_huge_file_is_refused_without_reading_it(tmp_path, monkeypatch):
    monkeypatch.setattr(bank, "MAX_FILE_BYTES", 1000)
    found = problems_of(write(tmp_path, GOOD + "#" * 2000))
    assert len(found) == 1 and "the limit is" in found[0], found


def question(**fields: object) -> str:
    base = {
        "id": "t.q",
        "topic": "demo",
        "difficulty": "easy",
        "type": "single",
        "prompt": {"en": "Pick", "zh": "选"},
        "choices": [{"en": "a", "zh": "甲"}, {"en": "b", "zh": "乙"}],
        "answer": "A",
        "explanation": {"en": "why", "zh": "为什么"},
        "source": "test",
    }
    base.update(fields)
    for key in [k for k, v in base.items() if v is None]:
        del base[key]
    return yaml.safe_dump({"questions": [base]}, allow_unicode=True, sort_keys=False)


@pytest.mark.parametrize(
    "fields, expected",
    [
        ({"answer": "E"}, "t.q: answer 'E' is not among the 2 choices (A-B)"),
        ({"type": "multi", "answer": ["A", "C"]}, "t.q: answer 'C' is not among the 2 choices (A-B)"),
        ({"prompt": {"en": "Pick"}}, "t.q: missing Chinese translation: prompt.zh"),
        ({"explanation": {"zh": "为什么"}}, "t.q: missing English translation: explanation.en"),
        ({"prompt": {"en": "Pick", "zh": "   "}}, "t.q: missing Chinese translation: prompt.zh is blank"),
        ({"choices": [{"en": "a", "zh": "甲"}, {"en": "b"}]}, "t.q: missing Chinese translation: choices[1].zh"),
        ({"colour": "red"}, "t.q: unknown field 'colour'"),
        ({"unit": "bytes"}, "t.q: field 'unit' does not apply to type single questions"),
        ({"difficulty": "extreme"}, "t.q: difficulty must be one of easy, medium, hard; got 'extreme'"),
        ({"type": "essay"}, "t.q: type must be one of single, multi"),
        ({"id": "Bad Id"}, "Bad Id: id must be lowercase"),
        ({"source": None}, "t.q: missing field 'source'"),
        ({"type": "numeric", "choices": None, "answer": "many"}, "t.q: answer: \"many\" is not of type \"number\""),
        ({"type": "short", "choices": None, "answer": None, "accept": ["!!!"]}, "t.q: accepted answer '!!!' is empty"),
        ({"type": "truefalse", "choices": None, "answer": "yes"}, "t.q: answer: \"yes\" is not of type \"boolean\""),
        ({"type": "bug", "choices": None, "answer": None}, "t.q: missing field 'code'"),
        ({"choices": [{"en": "same", "zh": "甲"}, {"en": "Same!", "zh": "乙"}]}, "t.q: choices A and B read the same in English"),
    ],
)
def test_question_problems_name_the_question_and_line(tmp_path, fields, expected):
    found = problems_of(write(tmp_path, question(**fields)))
    assert any(expected in p for p in found), found
    assert all(p.startswith("q.yaml:") and p.split(":")[1].isdigit() for p in found), found


def test_problem_points_at_the_offending_line(tmp_path):
    text = GOOD.replace("    source: test\n", "    source: test\n    colour: red\n")
    found = problems_of(write(tmp_path, text))
    assert found == ["q.yaml:13: t.one: unknown field 'colour'; see attnquiz/schema/question-bank.schema.json"]


def test_duplicate_ids_across_files(tmp_path):
    write(tmp_path, GOOD, "a.yaml")
    write(tmp_path, GOOD, "b.yaml")
    questions, problems = check([tmp_path])
    assert len(questions) == 1
    assert len(problems) == 1 and "duplicate id (first defined at" in str(problems[0]) and "a.yaml:2" in str(problems[0])


def test_builtin_bank_is_valid_bilingual_and_unique():
    questions, problems = check()
    assert problems == [], "\n".join(map(str, problems))
    ids = [q.id for q in questions]
    assert len(ids) == len(set(ids))
    for q in questions:
        for text in (q.prompt, q.explanation, *q.choices):
            assert text["en"].strip() and text["zh"].strip(), q.id


def test_first_content_covers_the_article_and_the_map():
    questions, _ = check()
    topics = {q.topic for q in questions}
    assert len(questions) >= 30 and len(topics) >= 8
    article = "自注意力机制在大模型中的应用 (Chinese interview article)"
    for n in range(1, 5):
        from_article = [q for q in questions if f"{article}, Q{n}" in q.source]
        assert len({q.type for q in from_article}) >= 2, f"article Q{n} needs two questions of different types"
    unnamed = [q.id for q in questions if re.search(r"\barticle\b", q.source) and article not in q.source]
    assert unnamed == [], f"cite the source article by its title: {unnamed}"
    assert sum(q.type == "bug" for q in questions) >= 4


def test_cache_serves_the_same_questions_and_survives_damage(tmp_path):
    path = write(tmp_path, GOOD)
    first, _ = load_file(path, "q.yaml")
    from attnquiz.paths import cache_dir

    entries = list((cache_dir() / "bank").glob("*.json"))
    assert len(entries) == 1, "a clean file is cached"
    second, problems = load_file(path, "q.yaml")
    assert second == first and problems == []
    entries[0].write_text("{not json", encoding="utf-8")
    third, problems = load_file(path, "q.yaml")
    assert third == first and problems == []


def test_cache_never_hides_a_new_problem(tmp_path):
    path = write(tmp_path, GOOD)
    load_file(path, "q.yaml")
    path.write_text(GOOD.replace("answer: B", "answer: Z"), encoding="utf-8")
    assert any("answer 'Z' is not among" in p for p in problems_of(path))


def test_schema_file_is_a_valid_json_schema():
    import jsonschema_rs

    schema = json.loads(bank.SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema_rs.meta.validate(schema)
    assert schema["$defs"]["question"]["additionalProperties"] is False


def test_sample_bank_has_every_type():
    questions, problems = check([DATA])
    assert problems == []
    assert {q.type for q in questions} == set(bank.TYPES)


def test_bank_check_cli_exit_codes(tmp_path):
    bad = write(tmp_path, question(answer="E"), "bad.yaml")
    good = write(tmp_path, GOOD, "good.yaml")
    run = lambda *args: subprocess.run([sys.executable, "-m", "attnquiz", "bank", "check", *args], capture_output=True, text=True, cwd=tmp_path)
    ok = run(str(good))
    assert ok.returncode == 0 and "1 questions in 1 file(s): no problems" in ok.stdout
    failed = run(str(bad))
    assert failed.returncode == 2
    assert "bad.yaml:" in failed.stdout and "t.q: answer 'E' is not among the 2 choices" in failed.stdout
    assert "Traceback" not in failed.stdout + failed.stderr
    missing = run(str(tmp_path / "nope.yaml"))
    assert missing.returncode == 2 and "no such file or folder" in missing.stderr
    assert "Traceback" not in missing.stderr


@pytest.mark.parametrize("content", [b"", b"\xff\xfe\x00binary", b"just a string", b"{{{{", b"questions: [1, 2, 3]"])
def test_bank_check_cli_never_tracebacks(tmp_path, content):
    path = write(tmp_path, content)
    result = subprocess.run([sys.executable, "-m", "attnquiz", "bank", "check", str(path)], capture_output=True, text=True)
    assert result.returncode == 2
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stdout.startswith(str(path) + ":"), result.stdout


def test_a_huge_wrong_value_is_quoted_briefly(tmp_path):
    found = problems_of(write(tmp_path, 'questions: "' + "x" * 100_000 + '"\n'))
    assert len(found) == 1 and "is not of type" in found[0] and len(found[0]) < 250, found[0][:300]


def test_a_choice_may_carry_its_reason_and_a_question_may_keep_its_order(tmp_path):
    text = """questions:
  - id: t.reasons
    topic: t
    difficulty: easy
    type: single
    ordered: true
    prompt: {en: Pick one, zh: 选一个}
    choices:
      - {en: Right, zh: 对, why: {en: Because it is, zh: 因为它对}}
      - {en: Wrong, zh: 错}
    answer: A
    explanation: {en: E, zh: 解}
    source: s
"""
    questions, problems = bank.load_file(write(tmp_path, text))
    assert problems == []
    assert questions[0].ordered is True and questions[0].choices[0]["why"]["zh"] == "因为它对"
    found = problems_of(write(tmp_path, text.replace("why: {en: Because it is, zh: 因为它对}", "why: {en: Because it is}")))
    assert len(found) == 1 and "missing Chinese translation" in found[0] and "why" in found[0], found
    found = problems_of(write(tmp_path, text.replace("why:", "wy:")))
    assert len(found) == 1 and "unknown field 'wy'" in found[0] and "why" in found[0], found


# --------------------------------------------------------------------------- every problem, in one pass

MANY_PROBLEMS = """\
questions:
  - id: t.many
    topic: demo
    difficulty: easy
    type: single
    colour: red
    prompt:
      en: Pick one
    choices:
      - {en: a, zh: 甲}
      - {en: b, zh: 乙}
    answer: E
    explanation: {en: because, zh: 因为}
    source: test
    shade: blue
"""


def test_every_problem_of_a_question_gets_its_own_located_line(tmp_path):
    found = problems_of(write(tmp_path, MANY_PROBLEMS))
    assert found == [
        "q.yaml:6: t.many: unknown field 'colour'; see attnquiz/schema/question-bank.schema.json",
        "q.yaml:8: t.many: missing Chinese translation: prompt.zh",
        "q.yaml:12: t.many: answer 'E' is not among the 2 choices (A-B)",
        "q.yaml:15: t.many: unknown field 'shade'; see attnquiz/schema/question-bank.schema.json",
    ]


def test_checks_of_a_faulted_question_do_not_trip_on_its_wrong_shapes(tmp_path):
    text = """\
questions:
  - id: t.shapes
    topic: demo
    difficulty: easy
    type: single
    prompt: {en: P, zh: 题}
    choices: "not a list"
    answer: [1]
    accept: abc
    key_points: {keywords: 3}
    explanation: {en: E, zh: 解}
    source: test
  - 7
"""
    found = problems_of(write(tmp_path, text))
    assert found and all(p.startswith("q.yaml:") for p in found), found
    assert any(p.startswith("q.yaml:7: t.shapes: choices:") for p in found), found
    assert any(p.startswith("q.yaml:13: question #2:") for p in found), found


def test_a_duplicate_id_is_reported_even_when_the_first_copy_is_invalid(tmp_path):
    broken_first = GOOD.replace("answer: B", "answer: Z")
    write(tmp_path, broken_first, "a.yaml")
    write(tmp_path, GOOD, "b.yaml")
    questions, problems = check([tmp_path])
    found = [str(p) for p in problems]
    assert any("a.yaml:10: t.one: answer 'Z' is not among" in p for p in found), found
    assert any(p.endswith(f"b.yaml:2: t.one: duplicate id (first defined at {tmp_path / 'a.yaml'}:2); ids must be unique") for p in found), found
    assert questions == []


def test_a_duplicate_id_within_one_file_whose_copies_are_both_invalid(tmp_path):
    question_text = GOOD.split("questions:\n", 1)[1].replace("answer: B", "answer: Z")
    path = write(tmp_path, "questions:\n" + question_text + question_text)
    questions, problems = check([path])
    found = [str(p) for p in problems]
    assert questions == []
    assert sum("answer 'Z' is not among" in p for p in found) == 2, found
    assert any(p.endswith("q.yaml:13: t.one: duplicate id (first defined at " + str(path) + ":2); ids must be unique") for p in found), found


def test_a_duplicate_key_is_reported_and_the_rest_of_the_file_is_still_checked(tmp_path):
    text = GOOD.replace("    topic: demo\n", "    topic: demo\n    topic: again\n").replace("answer: B", "answer: Q")
    found = problems_of(write(tmp_path, text))
    assert found == [
        "q.yaml:4: t.one: duplicate key 'topic'; keep one",
        "q.yaml:11: t.one: answer 'Q' is not among the 2 choices (A-B)",
    ]
    questions, problems = load_file(write(tmp_path, GOOD.replace("    source: test\n", "    source: test\n    source: again\n")))
    assert questions == [] and [str(p) for p in problems] == [f"{tmp_path / 'q.yaml'}:13: t.one: duplicate key 'source'; keep one"]


# --------------------------------------------------------------------------- YAML 1.1 booleans where text belongs


@pytest.mark.parametrize(
    "old, new, expected",
    [
        ('prompt: {en: "Pick B", zh: "选 B"}', 'prompt: {en: no, zh: "选 B"}', 'q.yaml:6: t.one: prompt.en: YAML reads no as false; quote it: "no"'),
        ('prompt: {en: "Pick B", zh: "选 B"}', 'prompt:\n      en: "Pick B"\n      zh: yes', 'q.yaml:8: t.one: prompt.zh: YAML reads yes as true; quote it: "yes"'),
        ("explanation: {en: because, zh: 因为}", "explanation:\n      en: off\n      zh: 因为", 'q.yaml:12: t.one: explanation.en: YAML reads off as false; quote it: "off"'),
        ("- {en: b, zh: 乙}", "- {en: On, zh: 乙}", 'q.yaml:9: t.one: choices[1].en: YAML reads On as true; quote it: "On"'),
        ("source: test", "source: NO", 'q.yaml:12: t.one: source: YAML reads NO as false; quote it: "NO"'),
        ("answer: B", "answer: yes", "q.yaml:10: t.one: answer: answer must be a choice letter (A, B, ...); YAML reads yes as true"),
    ],
)
def test_a_yaml_boolean_where_text_belongs_says_to_quote_it(tmp_path, old, new, expected):
    assert old in GOOD
    assert problems_of(write(tmp_path, GOOD.replace(old, new))) == [expected]


def test_yaml_booleans_in_accept_and_unit_each_get_a_line(tmp_path):
    text = """\
questions:
  - id: t.short
    topic: demo
    difficulty: easy
    type: short
    prompt: {en: P, zh: 题}
    accept:
      - yes
      - fine
      - off
    explanation: {en: E, zh: 解}
    source: test
  - id: t.num
    topic: demo
    difficulty: easy
    type: numeric
    answer: 3
    unit: on
    prompt: {en: P, zh: 题}
    explanation: {en: E, zh: 解}
    source: test
"""
    assert problems_of(write(tmp_path, text)) == [
        'q.yaml:8: t.short: accept[0]: YAML reads yes as true; quote it: "yes"',
        'q.yaml:10: t.short: accept[2]: YAML reads off as false; quote it: "off"',
        'q.yaml:18: t.num: unit: YAML reads on as true; quote it: "on"',
    ]


def test_booleans_stay_booleans_where_the_schema_wants_them_and_quoted_words_stay_text(tmp_path):
    truefalse = """\
questions:
  - id: t.tf
    topic: demo
    difficulty: easy
    type: truefalse
    answer: yes
    ordered: no
    prompt: {en: "no", zh: 'yes'}
    explanation: {en: "off", zh: 解}
    source: test
"""
    questions, problems = load_file(write(tmp_path, truefalse))
    assert problems == []
    assert questions[0].answer is True and questions[0].prompt == {"en": "no", "zh": "yes"}


# --------------------------------------------------------------------------- the event-stream builder


def test_built_data_matches_pyyamls_safe_loader_on_the_bank():
    """The builder reads events itself; on ordinary files it must give exactly what yaml.safe_load gives."""
    for path in sorted((Path(bank.__file__).resolve().parent.parent / "questions").glob("*.yaml")) + sorted(DATA.glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        assert bank._build(text).data == yaml.load(text, Loader=bank._Loader), path.name


@pytest.mark.parametrize(
    "content, expected",
    [
        (b"questions: &a [*a]\n", "q.yaml:1: -: alias *a is used inside its own anchor (a loop)"),
        (b"questions: !!int abc\n", "q.yaml:1: -: bad value for int: abc"),
        (b"questions: !!bool maybe\n", "q.yaml:1: -: bad value for bool: maybe"),
        (b"a: 1\nquestions: *nope\n", "q.yaml:2: -: broken YAML: found undefined alias 'nope'"),
        (b"a: &x 1\nquestions: &x [1]\n", "q.yaml:2: -: broken YAML: found duplicate anchor 'x'"),
        (b"questions: [1]\n---\nquestions: [2]\n", "q.yaml:2: -: broken YAML: expected a single document"),
        (b"? [a, b]\n: c\n", "q.yaml:1: -: a mapping key must be plain text"),
        (b"questions: !!set {a}\n", "q.yaml:1: -: tag tag:yaml.org,2002:set is not allowed"),
    ],
)
def test_loops_bad_tagged_values_and_odd_documents_are_reported_not_crashed(tmp_path, content, expected):
    found = problems_of(write(tmp_path, content))
    assert len(found) == 1 and found[0].startswith(expected), found


def test_values_read_as_pyyaml_reads_them(tmp_path):
    text = "a: 0x1f\nb: 1_000\nc: .inf\nd: ~\ne:\nf: 2020-01-01\ng: !!str 12\nh: '012'\ni: <<\nj: &k [1]\nl: *k\n"
    data = bank._build(text).data
    assert data == {"a": 31, "b": 1000, "c": float("inf"), "d": None, "e": None, "f": "2020-01-01", "g": "12", "h": "012", "i": "<<", "j": [1], "l": [1]}
    assert data["j"] is data["l"], "an alias shares its anchor's value instead of copying it"
