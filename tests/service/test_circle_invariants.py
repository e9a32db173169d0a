"""Invariants of circles under any sequence of actions (hypothesis stateful testing, service layer):
whatever members start, invite, join, show, guess, block, unblock and leave, in any order and across
days and months,

- no circle is left without members, and every guess, invitation and "invited by" stays inside its
  circle, between current members;
- no guess survives about a member who shows nothing, or between two consumers with a block;
- nobody waits to join a circle they are already in;
- every guess carries the points of its feedback, and the leaderboard lists exactly the members."""

from __future__ import annotations

from datetime import timedelta
from itertools import count

import pytest

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import delete, select

from credo.errors import CredoError
from credo.policy.circles import BAND_NAMES, POINTS, SHARING
from credo.service import circles, game, invitations, kept
from credo.store.tables import circle_guesses
from tests.service.circle_helpers import CIRCLE_TABLES
from tests.service.support import NOW, World

PEOPLE = 4


def test_circle_invariants_hold_whatever_happens(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    people = [world.high(), world.high(1), world.low(), world.low(1)]
    for cid in people:  # their scores computed once: the kept scores serve every band read after
        kept.score_now(world.svc, cid, NOW)

    class Circles(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            world.at(NOW)
            ids = count()  # ids in creation order: lists that tie on time and name sort by id, and a replay
            monkeypatch.setattr(circles, "new_id", lambda: f"{next(ids):016x}")  # must draw the same choices
            with world.engine.begin() as conn:
                for table in reversed(CIRCLE_TABLES):
                    conn.execute(delete(table))
                first = circles.create(conn, people[0], "All", "P0", NOW)  # everyone starts in one circle, playing
                for i in range(1, PEOPLE):
                    circles.add_member(conn, first["id"], people[i], f"P{i}", NOW, invited_by=first["me"]["member_id"])
                for who in people:
                    circles.update_membership(conn, who, first["id"], NOW, sharing="guess")

        def _pick_membership(self, data: st.DataObject, who: int) -> tuple[str, list[str]] | None:
            with world.engine.connect() as conn:
                mine = circles.my_circles(conn, people[who])
                if not mine:
                    return None
                c = data.draw(st.sampled_from([c for c in mine if c["members"] > 1] or mine))
                others = [r.id for r in circles.members_of(conn, c["id"]) if r.consumer_id != people[who]]
            return c["id"], others

        def _try(self, action) -> None:  # noqa: ANN001
            try:
                action()
            except CredoError:
                pass  # a refusal is a legitimate outcome; the invariants must hold either way

        @rule(who=st.integers(0, PEOPLE - 1))
        def start(self, who: int) -> None:
            with world.engine.begin() as conn:
                if circles.count_circles(conn, people[who]) < 2:  # few circles: people meet in them
                    circles.create(conn, people[who], "C", f"P{who}", world.clock[0])

        @rule(who=st.integers(0, PEOPLE - 1), joiner=st.integers(0, PEOPLE - 1), data=st.data())
        def bring_in(self, who: int, joiner: int, data: st.DataObject) -> None:
            picked = self._pick_membership(data, who)
            if picked is None:
                return
            now = world.clock[0]

            def steps() -> None:
                with world.engine.begin() as conn:
                    made = invitations.create(conn, people[who], picked[0], 1, 24, now)
                request = invitations.accept(world.svc, people[joiner], made["code"], f"P{joiner}", now)
                with world.engine.begin() as conn:
                    invitations.confirm(conn, people[who], request["id"], now)
            self._try(steps)

        @rule(who=st.integers(0, PEOPLE - 1), sharing=st.sampled_from(("guess", *SHARING)), data=st.data())
        def share(self, who: int, sharing: str, data: st.DataObject) -> None:
            picked = self._pick_membership(data, who)
            if picked:
                with world.engine.begin() as conn:
                    circles.update_membership(conn, people[who], picked[0], world.clock[0], sharing=sharing)

        @rule(who=st.integers(0, PEOPLE - 1), band=st.sampled_from(BAND_NAMES), data=st.data())
        def guess(self, who: int, band: str, data: st.DataObject) -> None:
            picked = self._pick_membership(data, who)
            if not (picked and picked[1]):
                return
            with world.engine.connect() as conn:
                playing = [r.id for r in circles.members_of(conn, picked[0])
                           if r.id in picked[1] and r.sharing == "guess"]
            target = data.draw(st.sampled_from(playing or picked[1]))  # mostly someone who plays
            self._try(lambda: game.guess(world.svc, people[who], picked[0], target, band, world.clock[0]))

        @rule(who=st.integers(0, PEOPLE - 1), data=st.data())
        def block(self, who: int, data: st.DataObject) -> None:
            picked = self._pick_membership(data, who)
            if not (picked and picked[1]):
                return
            with world.engine.begin() as conn:
                me = circles.member(conn, people[who], picked[0])
                g = circle_guesses.c
                played = [r.target_id if r.guesser_id == me.id else r.guesser_id for r in conn.execute(
                    select(g.guesser_id, g.target_id).where((g.guesser_id == me.id) | (g.target_id == me.id)))]
                if not played and data.draw(st.integers(0, 3)):
                    return  # blocks pile up: most are of someone they played with, the most telling case
                target = data.draw(st.sampled_from(played or picked[1]))
                circles.block(conn, people[who], picked[0], target, world.clock[0])

        @rule(who=st.integers(0, PEOPLE - 1))
        def unblock(self, who: int) -> None:
            with world.engine.begin() as conn:
                for b in circles.blocks(conn, people[who])[:1]:
                    circles.unblock(conn, people[who], b["id"])

        @rule(who=st.integers(0, PEOPLE - 1), data=st.data())
        def leave(self, who: int, data: st.DataObject) -> None:
            picked = self._pick_membership(data, who)
            if picked:
                with world.engine.begin() as conn:
                    circles.leave(conn, people[who], picked[0])

        @rule(days=st.sampled_from([1, 31]))
        def wait(self, days: int) -> None:
            world.at(world.clock[0] + timedelta(days=days))

        @invariant()
        def everything_stays_between_current_members(self) -> None:
            with world.engine.connect() as conn:
                rows = {t.name: conn.execute(select(t)).mappings().all() for t in CIRCLE_TABLES}
                members = {m["id"]: m for m in rows["circle_members"]}
                blocked = {(b["blocker_id"], b["blocked_id"]) for b in rows["circle_blocks"]}
                assert {c["id"] for c in rows["circles"]} == {m["circle_id"] for m in members.values()}
                for m in members.values():
                    assert m["invited_by"] is None or members[m["invited_by"]]["circle_id"] == m["circle_id"]
                for g in rows["circle_guesses"]:
                    by, about = members[g["guesser_id"]], members[g["target_id"]]
                    assert by["circle_id"] == about["circle_id"] == g["circle_id"]
                    assert about["sharing"] != "nothing"
                    assert (by["consumer_id"], about["consumer_id"]) not in blocked
                    assert (about["consumer_id"], by["consumer_id"]) not in blocked
                    assert g["points"] == POINTS[g["feedback"]]
                for i in rows["circle_invitations"]:
                    assert members[i["inviter_id"]]["circle_id"] == i["circle_id"]
                inside = {(m["circle_id"], m["consumer_id"]) for m in members.values()}
                for r in rows["circle_join_requests"]:
                    assert (r["circle_id"], r["consumer_id"]) not in inside
                for c in rows["circles"]:
                    someone = next(m for m in members.values() if m["circle_id"] == c["id"])
                    board = game.leaderboard(conn, someone["consumer_id"], c["id"])
                    assert sorted(e["member_id"] for e in board["entries"]) == \
                        sorted(m["id"] for m in members.values() if m["circle_id"] == c["id"])

    run_state_machine_as_test(Circles, settings=settings(max_examples=20, stateful_step_count=30, deadline=None,
                                                         suppress_health_check=list(HealthCheck)))
