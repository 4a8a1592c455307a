"""The simulation's figures: what each shard counts, and how shards add up (issue 8's
summary must say how many sequences ran the full number of actions)."""

from __future__ import annotations

from tests.simulation.machine import Stats


def run(stats: Stats, actions_per_sequence: list[int]) -> None:
    for actions in actions_per_sequence:
        stats.begin_sequence()
        for _ in range(actions):
            stats.count("settle")
    stats.end_sequence()


def test_a_shard_counts_full_and_cut_short_sequences() -> None:
    stats = Stats(steps=20)
    run(stats, [20, 20, 7, 20, 1])
    assert (stats.sequences, stats.full, stats.short, stats.shortest, stats.actions) == (5, 3, 2, 1, 68)


def test_shards_add_up_and_the_summary_says_how_many_ran_every_action() -> None:
    first, second = Stats(steps=20), Stats(steps=20)
    run(first, [20, 3])
    run(second, [20, 20])
    second.violations = 1
    total = Stats.total([first.as_dict(), second.as_dict()])
    assert (total.sequences, total.full, total.short, total.steps, total.violations) == (4, 3, 1, 20, 1)
    assert total.rules == {"settle": 63}
    summary = total.summary(wall=60.0)
    assert "sequences:        4 (4/min): 3 of 20 actions, 1 cut short by hypothesis" in summary
    assert "violations:       1" in summary
