"""`d365portal notify` as real processes (issue 14): killed mid-batch and restarted it sends no mail twice
but the one in flight and loses none; two notifiers sharing Redis mail each event once, and the second
takes over within the lease time when the first is killed."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from d365portal.identity.store import SqliteStore
from tests.conftest import TEST_TOKEN
from tests.notify.conftest import Agent, Inbox

pytestmark = [pytest.mark.live, pytest.mark.smtp]


class SlowInbox(Inbox):
    """An SMTP server that takes its time over each message (so a kill lands mid-batch)."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        await asyncio.sleep(0.4)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture()
def slow_inbox() -> Iterator[SlowInbox]:
    box = SlowInbox()
    box.start()
    yield box
    box.stop()


def _env(tmp_path: Path, emulator_url: str, smtp_url: str, **extra: str) -> dict[str, str]:
    config = tmp_path / "portal.toml"
    config.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("D365_")}
    env.update(
        {
            "D365_CONFIG": str(config),
            "D365_VAR_DIR": str(tmp_path / "var"),
            "D365_DATAVERSE_URL": emulator_url,
            "D365_AUTH": "static",
            "D365_STATIC_TOKEN": TEST_TOKEN,
            "D365_SMTP_URL": smtp_url,
            "D365_SECRET_KEY": "notify-test-secret-key-0123456789-abcdefghij",
            "D365_PUBLIC_BASE_URL": "http://portal.test",
            "D365_NOTIFY_POLL_SECONDS": "0.3",
            "D365_NOTIFY_LEASE_SECONDS": "5",
            "D365_RETRY_BUDGET_SECONDS": "2",
            **extra,
        }
    )
    return env


def _start(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as output:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "d365portal", "notify"], env=env, stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _wait_until(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


def _mailed(inbox: Inbox) -> list[str]:
    """Which test comments were mailed ("paso N"), one entry per mail."""
    found = []
    for message in inbox.messages:
        text = str(message.get_body(("plain",)).get_content())  # type: ignore[union-attr]
        found += re.findall(r"paso \d+", text)
    return found


def test_killed_mid_batch_and_restarted_it_loses_nothing_and_repeats_at_most_the_one_in_flight(
    tmp_path: Path, standalone: str, slow_inbox: SlowInbox
) -> None:
    """The standalone emulator, the notifier and a real SMTP server, each its own process or thread."""
    env = _env(tmp_path, standalone, slow_inbox.url)
    store = SqliteStore(tmp_path / "var" / "identity.sqlite3")
    log = tmp_path / "notify.log"
    first = _start(env, log)
    try:
        _wait_until(lambda: store.get("notify:token:entitlements") is not None, 30, "the baseline")
        agent = Agent(standalone)
        for n in range(6):
            agent.comment(f"paso {n}")
        _wait_until(lambda: len(slow_inbox.messages) >= 2, 30, "the first mails")
        os.killpg(first.pid, signal.SIGKILL)  # no clean stop: mid-batch
        first.wait(timeout=10)
        second = _start(env, log)
        try:
            _wait_until(lambda: len(set(_mailed(slow_inbox))) == 6, 40, "every comment mailed")
            time.sleep(1.5)  # a few more polls: nothing else may come
        finally:
            os.killpg(second.pid, signal.SIGTERM)
            assert second.wait(timeout=15) == 0
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
    mailed = _mailed(slow_inbox)
    assert sorted(set(mailed)) == [f"paso {n}" for n in range(6)]
    assert len(mailed) <= 7, mailed  # at most the one accepted just before the kill, again


@pytest.mark.redis
def test_two_notifiers_on_redis_mail_each_event_once_and_one_takes_over(
    tmp_path: Path, emulator: Any, inbox: Inbox, redis_url: str
) -> None:
    import redis

    prefix = "d365portal:"  # the portal's keys in Redis
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    for key in client.scan_iter(prefix + "notify:*"):  # this session's Redis: start clean
        client.delete(key)
    env = _env(tmp_path, emulator.url, inbox.url, D365_REDIS_URL=redis_url)
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    workers = [_start(env, logs[0]), _start(env, logs[1])]
    try:
        _wait_until(lambda: client.get(prefix + "notify:token:entitlements") is not None, 30, "the baseline")
        agent = Agent(emulator.url)
        for n in range(3):
            agent.comment(f"paso {n}")
        _wait_until(lambda: len(inbox.messages) >= 3, 30, "three mails")
        time.sleep(1.5)
        assert sorted(_mailed(inbox)) == ["paso 0", "paso 1", "paso 2"]  # once each, by one of them
        holder = str(client.get(prefix + "notify:lease"))
        working = next(w for w in workers if f":{w.pid}:" in holder)
        other = next(w for w in workers if w is not working)
        os.killpg(working.pid, signal.SIGKILL)
        working.wait(timeout=10)
        agent.comment("paso 3")
        started = time.monotonic()
        _wait_until(lambda: "paso 3" in _mailed(inbox), 20, "the other notifier to take over")
        assert time.monotonic() - started < 5 + 5  # the lease time, plus a poll and the mail
        assert f":{other.pid}:" in str(client.get(prefix + "notify:lease"))
        assert sorted(_mailed(inbox)) == ["paso 0", "paso 1", "paso 2", "paso 3"]
    finally:
        for worker in workers:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGTERM)
                worker.wait(timeout=15)
        client.close()
