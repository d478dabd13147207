"""The master's bookkeeping of a distributed replay: phases, stories out per worker, a lost worker."""

from __future__ import annotations

from pathlib import Path

from replay.swarm.dispatch import StoryDispatcher


def _stories(*numbers: int) -> list[tuple[int, Path]]:
    return [(n, Path(f"story-{n}.jsonl")) for n in numbers]


def test_stories_go_out_once_each_and_the_run_is_done_when_all_are_in() -> None:
    dispatcher = StoryDispatcher.of(_stories(1, 2, 3))
    first, second = dispatcher.claim("w1", 2), dispatcher.claim("w2", 5)
    assert [a.number for a in first] == [1, 2] and [a.number for a in second] == [3]
    assert dispatcher.claim("w3", 1) == [] and not dispatcher.done
    assert all(
        dispatcher.finished(w, a.number) for w, given in (("w1", first), ("w2", second)) for a in given
    )
    assert dispatcher.done


def test_a_phase_starts_when_the_one_before_has_nothing_out() -> None:
    dispatcher = StoryDispatcher([_stories(1, 2), _stories(3)])
    assert [a.number for a in dispatcher.claim("w1", 1)] == [1]
    assert [a.number for a in dispatcher.claim("w2", 9)] == [2]
    dispatcher.finished("w1", 1)
    assert dispatcher.claim("w1", 9) == []  # story 2 is still out: story 3 reads what it changes
    dispatcher.finished("w2", 2)
    assert [a.number for a in dispatcher.claim("w1", 9)] == [3]


def test_a_lost_workers_stories_go_to_another_once_then_are_given_up() -> None:
    dispatcher = StoryDispatcher.of(_stories(1, 2, 3))
    dispatcher.claim("w1", 2)
    assert dispatcher.lost("w1", "worker w1 stopped answering") == []
    again = dispatcher.claim("w2", 9)
    assert [(a.number, a.attempt) for a in again] == [(1, 2), (2, 2), (3, 1)]
    given_up = dispatcher.lost("w2", "worker w2 stopped answering")
    assert [(a.number, reason) for a, reason in given_up] == [
        (1, "worker w2 stopped answering; not replayed again: handed out 2 times"),
        (2, "worker w2 stopped answering; not replayed again: handed out 2 times"),
    ]
    assert [a.number for a in dispatcher.claim("w3", 9)] == [3]
    assert not dispatcher.finished("w2", 1)  # a late answer of a worker given up is not counted
    dispatcher.finished("w3", 3)
    assert dispatcher.done


def test_on_a_shared_target_a_lost_story_is_not_replayed_again() -> None:
    dispatcher = StoryDispatcher.of(_stories(1), resend=False)
    dispatcher.claim("w1", 1)
    ((story, reason),) = dispatcher.lost("w1", "worker w1 quit")
    assert story.number == 1 and "may have acted on the shared target" in reason
    assert dispatcher.done


def test_a_load_run_hands_out_round_after_round_with_numbers_of_their_own() -> None:
    dispatcher = StoryDispatcher.of(_stories(1, 2, 3), loop=True)
    numbers = [a.number for a in dispatcher.claim("w1", 7)]
    assert numbers == [1, 2, 3, 4, 5, 6, 7]  # a round starts as soon as nothing waits
    assert [dispatcher.original(n) for n in numbers] == [1, 2, 3, 1, 2, 3, 1]
    given = dispatcher.claim("w2", 2)
    assert [(a.number, a.path.name) for a in given] == [(8, "story-2.jsonl"), (9, "story-3.jsonl")]
    assert dispatcher.lost("w1", "gone") == [] and dispatcher.holders() == ["w2"]  # nothing to complete
    assert dispatcher.finished("w2", 8) and not dispatcher.done and dispatcher.finished_stories == 1


def test_stories_given_back_go_out_again_and_unknown_numbers_are_ignored() -> None:
    dispatcher = StoryDispatcher.of(_stories(1, 2, 3))
    dispatcher.claim("w1", 3)
    assert dispatcher.given_back("w1", [2, 99], "its slot was stopped") == []
    assert [a.number for a in dispatcher.out("w1")] == [1, 3]
    again = dispatcher.claim("w2", 5)
    assert [(a.number, a.attempt) for a in again] == [(2, 2)]
    shared = StoryDispatcher.of(_stories(1), resend=False)
    shared.claim("w1", 1)
    [(story, reason)] = shared.given_back("w1", [1], "its slot was stopped")
    assert story.number == 1 and "may have acted on the shared target" in reason
    assert shared.done  # given up: reported as an error, nothing left to wait for
