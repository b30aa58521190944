"""The diff between two instruction versions: changed lines paired, changed words marked."""

from projects.instruction_diff import instruction_diff


def test_a_one_word_fix_marks_that_word_in_the_removed_and_added_line():
    diff = instruction_diff(
        "# Cars\nBox every car.\nVans are cars.\n", "# Cars\nBox every car.\nVans are trucks.\n"
    )
    assert (diff.added, diff.removed) == (1, 1)
    removed = next(line for line in diff.lines if line.kind == "removed")
    added = next(line for line in diff.lines if line.kind == "added")
    assert [t for t, changed in removed.pieces if changed] == ["cars"]
    assert [t for t, changed in added.pieces if changed] == ["trucks"]
    assert (removed.old_number, added.new_number) == (3, 3)
    assert "".join(t for t, _ in added.pieces) == "Vans are trucks."


def test_long_unchanged_runs_are_folded_to_their_context():
    old = "\n".join(f"line {i}" for i in range(1, 21))
    new = old.replace("line 10", "line ten")
    diff = instruction_diff(old, new, context=2)
    kinds = [line.kind for line in diff.lines]
    assert kinds == ["skip", "same", "same", "removed", "added", "same", "same", "skip"]
    assert diff.lines[0].skipped == 7 and diff.lines[-1].skipped == 8


def test_added_and_removed_blocks_and_identical_texts():
    diff = instruction_diff("a\nb\n", "a\nb\nc\nd\n")
    assert [(line.kind, line.new_number) for line in diff.lines if line.kind != "same"] == [
        ("added", 3),
        ("added", 4),
    ]
    assert instruction_diff("same\n", "same\n").unchanged
    assert instruction_diff("", "new").added == 1
