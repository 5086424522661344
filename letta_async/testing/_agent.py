"""Executes one run of the scripted agent, writing its frames, messages and steps to the state.

The run is a task of its own, never the HTTP handler that started it: a client that goes away
leaves the run to finish (and a background run keeps filling its frame log), as on the real
server. Cancellation is cooperative: the run notices it at its next pause (a delay, a chunk
delay, or between frames) and ends with the ``cancelled`` stop reason: without ``[DONE]`` in
the foreground, followed by ``[DONE]`` in the background (as the real server's Redis log).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from . import _frames as F
from ._script import (
    APPROVAL_TOOL,
    LLM500_DETAIL,
    MIDGARBAGE_DETAIL,
    REASONING,
    REPLY,
    SEARCH_TOOL,
    TOOL_ANSWER,
    Script,
    numbered_tokens,
    split_tokens,
)
from ._state import AgentRecord, MessageRecord, RunRecord, ServerState, step_json

__all__ = ["ApprovalDecision", "RunCancelled", "execute_run"]

Json = dict[str, Any]

STEP_COMPLETION_TOKENS = 12
STEP_PROMPT_TOKENS = 100
_YIELD_EVERY = 64


class RunCancelled(Exception):
    """Raised inside the run at the pause where it notices a cancel request."""


@dataclass(frozen=True)
class ApprovalDecision:
    """The client's answer to a pending approval request."""

    approve: bool
    reason: str | None
    request: Json


class _Tool:
    """Hands out tool call ids like the fake LLM's ``call_fake0003``."""

    counter = 0

    @classmethod
    def next_id(cls) -> str:
        cls.counter += 1
        return f"call_fake{cls.counter:04d}"


class _Execution:
    def __init__(
        self,
        state: ServerState,
        run: RunRecord,
        agent: AgentRecord,
        script: Script,
        *,
        max_steps: int,
        approval: ApprovalDecision | None,
    ) -> None:
        self.state = state
        self.run = run
        self.agent = agent
        self.script = script
        self.max_steps = max(1, max_steps)
        self.approval = approval
        self.token_mode = run.token_mode
        self.frames_emitted = 0
        self.step_id = run.first_step_id
        self.steps_done = 0
        self.model = str(agent.data.get("model") or "openai-proxy/fake-model")

    # --- timing and cancellation ---------------------------------------------------------

    async def pause(self, seconds: float) -> None:
        """Sleep, but wake at once (and raise) when the run is cancelled."""
        cancel = self.run.cancel_requested
        if cancel.is_set():
            raise RunCancelled
        if seconds <= 0:
            return
        try:
            await asyncio.wait_for(cancel.wait(), timeout=seconds)
        except asyncio.TimeoutError:
            return
        raise RunCancelled

    async def frame(self, payload: Json, kind: str = "message") -> None:
        """Log one agent chunk, honouring ``[chunkdelay=F]`` between chunks."""
        if self.frames_emitted:
            await self.pause(self.script.chunk_delay)
        elif self.run.cancel_requested.is_set():
            raise RunCancelled
        self.frames_emitted += 1
        self.run.append(payload, kind)
        if self.frames_emitted % _YIELD_EVERY == 0:
            await asyncio.sleep(0)

    # --- steps and storage ---------------------------------------------------------------

    def end_step(
        self, *, completion: int, prompt: int, stop: str | None, status: str = "success"
    ) -> None:
        self.run.steps.append(
            step_json(
                step_id=self.step_id,
                run=self.run,
                model=self.model,
                completion=completion,
                prompt=prompt,
                stop=stop,
                status=status,
            )
        )
        self.run.completion_tokens += completion
        self.run.prompt_tokens += prompt
        self.steps_done += 1
        self.step_id = F.new_id("step")

    def store(self, message_id: str, items: list[Json], *, role: str, text: str) -> None:
        """Persist a complete message (history, run messages, the non-stream answer)."""
        record = MessageRecord(id=message_id, items=items, run_id=self.run.id, role=role, text=text)
        self.state.history(self.run).append(record)
        if self.run.conversation_id is None:
            self.agent.context_ids.append(message_id)
        self.run.result_messages.extend(items)

    # --- message emitters ----------------------------------------------------------------

    async def reasoning(self, message_id: str) -> Json:
        common: Json = {
            "message_id": message_id,
            "otid": F.otid_for(message_id, 0),
            "step_id": self.step_id,
            "run_id": self.run.id,
        }
        if self.token_mode:
            for piece in split_tokens(" " + REASONING):
                await self.frame(F.reasoning_message(reasoning=piece, **common))
        else:
            await self.frame(F.reasoning_message(reasoning=REASONING, **common))
        return F.reasoning_message(reasoning=REASONING, **common)

    async def assistant(self, message_id: str, index: int, tokens: list[str]) -> Json:
        common: Json = {
            "message_id": message_id,
            "otid": F.otid_for(message_id, index),
            "step_id": self.step_id,
            "run_id": self.run.id,
        }
        text = "".join(tokens)
        if self.token_mode:
            for piece in tokens:
                await self.frame(F.assistant_message(content=piece, **common))
        else:
            await self.frame(F.assistant_message(content=text, **common))
        return F.assistant_message(content=text, **common)

    async def tool_call(
        self, message_id: str, index: int, call: Json, *, approval: bool = False
    ) -> Json:
        build = F.approval_request_message if approval else F.tool_call_message
        common: Json = {
            "message_id": message_id,
            "otid": F.otid_for(message_id, index),
            "step_id": self.step_id,
            "run_id": self.run.id,
        }
        if self.token_mode:
            args = str(call["arguments"])
            cut = max(1, len(args) - 3)
            deltas = [
                {"name": call["name"], "tool_call_id": call["tool_call_id"]},
                {"arguments": args[:cut], "tool_call_id": call["tool_call_id"]},
                {"arguments": args[cut:], "tool_call_id": call["tool_call_id"]},
            ]
            for delta in deltas:
                await self.frame(build(tool_call=delta, delta=True, **common))
        else:
            await self.frame(build(tool_call=call, delta=False, **common))
        return build(tool_call=call, delta=False, **common)

    async def tool_return(self, call: Json, result: str, status: str = "success") -> Json:
        message_id = F.new_id("message")
        msg = F.tool_return_message(
            message_id=message_id,
            otid=F.otid_for(message_id, 0),
            step_id=self.step_id,
            run_id=self.run.id,
            tool_name=str(call["name"]),
            tool_call_id=str(call["tool_call_id"]),
            tool_return=result,
            status=status,
        )
        await self.frame(msg)
        self.store(message_id, [msg], role="tool", text=result)
        return msg

    def search_result(self) -> str:
        """What conversation_search returns: the latest user/assistant messages, newest first."""
        now = datetime.now(timezone.utc)
        results: list[Json] = []
        for record in reversed(self.state.history(self.run)):
            if record.role not in ("user", "assistant"):
                continue
            results.append(
                {
                    "timestamp": record.created_at.isoformat(),
                    "time_ago": f"{int((now - record.created_at).total_seconds())}s ago",
                    "role": record.role,
                    "relevance": {"search_mode": "sql"},
                    "content": record.text,
                }
            )
            if len(results) == 4:
                break
        return repr({"message": f"Showing {len(results)} results:", "results": results})

    # --- endings -------------------------------------------------------------------------

    def finish_ok(self, stop: str, *, usage: Json | None = None) -> None:
        run = self.run
        if run.cancel_requested.is_set():
            raise RunCancelled
        run.status = "completed"
        run.stop_reason = stop
        run.append(F.stop_reason(stop), "stop_reason")
        run.usage_event = usage or F.usage_statistics(
            completion_tokens=run.completion_tokens,
            prompt_tokens=run.prompt_tokens,
            step_count=max(self.steps_done, 1),
            token_mode=self.token_mode,
        )
        run.append(run.usage_event, "usage")
        run.append(F.DONE_FRAME, "done")

    def finish_error(
        self,
        stops: list[str],
        *,
        error_type: str,
        message: str,
        detail: str,
        done: bool,
        status: str = "failed",
    ) -> None:
        run = self.run
        if run.cancel_requested.is_set():
            raise RunCancelled
        run.status = status
        run.stop_reason = stops[-1]
        if not run.logs_frames:
            # What the real server stores for a run with no stream: a blocking send's failed
            # run keeps no stop reason, a messages/async one gets the generic "error".
            run.stop_reason = "error" if run.run_type == "send_message_async" else None
        run.error = {"type": error_type, "message": message, "detail": detail}
        for stop in stops:
            run.append(F.stop_reason(stop), "stop_reason")
        run.append(
            F.error_message(run_id=run.id, error_type=error_type, message=message, detail=detail),
            "error",
        )
        if done:
            run.append(F.DONE_FRAME, "done")

    # --- the script ----------------------------------------------------------------------

    def can_step(self) -> bool:
        return self.steps_done < self.max_steps

    async def answer(self, tokens: list[str], *, share_reasoning: bool) -> None:
        """One step that ends the turn with an assistant message (optionally after reasoning)."""
        message_id = F.new_id("message")
        items: list[Json] = []
        index = 0
        if share_reasoning:
            items.append(await self.reasoning(message_id))
            index = 1
        items.append(await self.assistant(message_id, index, tokens))
        self.store(message_id, items, role="assistant", text="".join(tokens))

    async def run_script(self) -> None:
        script = self.script
        run = self.run
        await self.pause(script.delay)

        if self.approval is not None:
            await self.after_approval(self.approval)
            return

        if script.error500:
            self.end_step(completion=0, prompt=0, stop=None, status="failed")
            self.finish_error(
                ["llm_api_error"],
                error_type="llm_error",
                message="An error occurred with the LLM request.",
                detail=LLM500_DETAIL,
                done=not run.background,
            )
            return

        # The real server streams from the LLM only in token mode: otherwise it makes one
        # plain completion, which a broken or dropped LLM stream cannot touch.
        if (script.midgarbage or script.drop) and self.token_mode:
            message_id = F.new_id("message")
            tokens = split_tokens(REPLY)[:3]
            await self.assistant(message_id, 0, tokens)
            if script.midgarbage:
                self.end_step(completion=0, prompt=0, stop=None, status="failed")
                self.finish_error(
                    ["error", "llm_api_error"],
                    error_type="internal_error",
                    message="An error occurred during agent execution.",
                    detail=MIDGARBAGE_DETAIL,
                    done=False,
                    # The stream reports the error, yet the server stores the run as completed.
                    status="completed",
                )
                return
            self.store(
                message_id,
                [
                    F.assistant_message(
                        message_id=message_id,
                        otid=F.otid_for(message_id, 0),
                        step_id=self.step_id,
                        run_id=run.id,
                        content="".join(tokens),
                    )
                ],
                role="assistant",
                text="".join(tokens),
            )
            self.end_step(completion=0, prompt=0, stop="end_turn")
            self.finish_ok(
                "end_turn",
                usage=F.usage_statistics(
                    completion_tokens=0,
                    prompt_tokens=0,
                    step_count=1,
                    token_mode=self.token_mode,
                    context_tokens=0,
                ),
            )
            return

        if script.approval:
            message_id = F.new_id("message")
            call = {
                "name": APPROVAL_TOOL,
                "arguments": _json_args(script.text),
                "tool_call_id": _Tool.next_id(),
            }
            items: list[Json] = []
            index = 0
            if script.reasoning:
                items.append(await self.reasoning(message_id))
                index = 1
            items.append(await self.tool_call(message_id, index, call, approval=True))
            self.store(message_id, items, role="approval", text="")
            self.agent.pending_approval = {"message_id": message_id, "tool_call": call}
            self.end_step(completion=STEP_COMPLETION_TOKENS, prompt=STEP_PROMPT_TOKENS, stop=None)
            self.finish_ok("requires_approval")
            return

        if script.tool:
            message_id = F.new_id("message")
            call = {
                "name": SEARCH_TOOL,
                "arguments": _json_args(script.text),
                "tool_call_id": _Tool.next_id(),
            }
            items = []
            index = 0
            if script.reasoning:
                items.append(await self.reasoning(message_id))
                index = 1
            items.append(await self.tool_call(message_id, index, call))
            self.store(message_id, items, role="tool_call", text="")
            await self.tool_return(call, self.search_result())
            self.end_step(completion=STEP_COMPLETION_TOKENS, prompt=STEP_PROMPT_TOKENS, stop=None)
            if not self.can_step():
                self.finish_ok("max_steps")
                return
            await self.answer(split_tokens(TOOL_ANSWER), share_reasoning=False)
            self.end_step(
                completion=STEP_COMPLETION_TOKENS, prompt=STEP_PROMPT_TOKENS, stop="end_turn"
            )
            self.finish_ok("end_turn")
            return

        if script.tokens is not None:
            tokens = numbered_tokens(script.tokens)
            completion = script.tokens
        else:
            tokens = split_tokens(REPLY)
            completion = STEP_COMPLETION_TOKENS
        await self.answer(tokens, share_reasoning=script.reasoning)
        self.end_step(completion=completion, prompt=STEP_PROMPT_TOKENS, stop="end_turn")
        self.finish_ok("end_turn")

    async def after_approval(self, decision: ApprovalDecision) -> None:
        """Run (or refuse) the approved tool call, then answer."""
        call = decision.request["tool_call"]
        if decision.approve:
            await self.tool_return(call, self.search_result())
        else:
            reason = decision.reason or "no reason given"
            await self.tool_return(
                call,
                f"Error: request to call tool denied. User reason: {reason}",
                status="error",
            )
        self.end_step(completion=STEP_COMPLETION_TOKENS, prompt=STEP_PROMPT_TOKENS, stop=None)
        if not self.can_step():
            self.finish_ok("max_steps")
            return
        await self.answer(split_tokens(TOOL_ANSWER), share_reasoning=False)
        self.end_step(completion=STEP_COMPLETION_TOKENS, prompt=STEP_PROMPT_TOKENS, stop="end_turn")
        self.finish_ok("end_turn")


def _json_args(query: str) -> str:
    """Tool arguments spelled like Python's json.dumps: ``{"query": "hi"}``."""
    return '{"query": ' + F.encode_json(query).decode() + "}"


async def execute_run(
    state: ServerState,
    run: RunRecord,
    agent: AgentRecord,
    script: Script,
    *,
    max_steps: int,
    approval: ApprovalDecision | None = None,
) -> None:
    """Body of a run's task. Always leaves the run finished, even when cancelled by shutdown."""
    execution = _Execution(state, run, agent, script, max_steps=max_steps, approval=approval)
    if run.background and run.include_pings:
        run.append(F.ping(run.id), "ping")
    if run.status == "created":
        run.status = "running"
    try:
        await execution.run_script()
    except RunCancelled:
        run.status = "cancelled"
        run.stop_reason = "cancelled"
        run.append(F.CANCELLED_FRAME, "cancelled")
        if run.background:
            # The real server's background writer closes a cancelled run's stream with [DONE]
            # (a foreground stream ends on the cancelled stop reason itself).
            run.append(F.DONE_FRAME, "done")
    except asyncio.CancelledError:
        # Server shutdown: leave a consistent record behind, then let the cancel propagate.
        if run.active:
            run.status = "cancelled"
            run.stop_reason = "cancelled"
        raise
    finally:
        if run.status == "running":
            run.status = "failed"
            run.stop_reason = "error"
        agent.data["last_stop_reason"] = run.stop_reason
        agent.data["last_run_completion"] = F.completed_timestamp()
        run.finish()
