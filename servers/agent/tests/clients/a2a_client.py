"""Real-client check: the Python a2a-sdk (1.3.0) against dockerhub-agent.

Usage: python a2a_client.py BASE_URL

Runs send, stream, get, list and cancel through the SDK's client, and parses
every raw JSON answer strictly into the SDK's protobuf types (unknown fields
or wrong enum names fail). Exits non-zero on the first failure.
"""

import asyncio
import json
import sys
import uuid

import httpx
from google.protobuf import json_format

from a2a.client import ClientConfig, create_client
from a2a.types import a2a_pb2 as pb


def strict(obj, message):
    """Parse JSON into a protobuf message, refusing unknown fields."""
    return json_format.ParseDict(obj, message, ignore_unknown_fields=False)


def user_message(part, task_id=None):
    m = {"messageId": str(uuid.uuid4()), "role": "ROLE_USER", "parts": [part]}
    if task_id:
        m["taskId"] = task_id
    return strict(m, pb.Message())


def rpc(url, method, params):
    r = httpx.post(url + "/", json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params},
                   headers={"A2A-Version": "1.0"}, timeout=30)
    r.raise_for_status()
    body = r.json()
    assert "error" not in body, body
    return body["result"]


async def main(url):
    checks = 0
    # The agent card, strictly.
    card_json = httpx.get(url + "/.well-known/agent-card.json", timeout=30).json()
    card = strict(card_json, pb.AgentCard())
    assert [s.id for s in card.skills][:2] == ["hub_auth", "hub_repos"], card.skills
    assert card.capabilities.streaming
    checks += 1

    # send (non-streaming) through the SDK
    client = await create_client(url, client_config=ClientConfig(streaming=False))
    data = {"tool": "hub_repos", "action": "list", "params": {"namespace": "acme", "page_size": 2}}
    events = [e async for e in client.send_message(pb.SendMessageRequest(message=user_message({"data": data})))]
    assert len(events) == 1 and events[0].HasField("task"), events
    task = events[0].task
    assert task.status.state == pb.TaskState.TASK_STATE_COMPLETED, task.status
    art = task.artifacts[0]
    result = json_format.MessageToDict(art.parts[0].data)
    assert result["status_code"] == 200 and len(result["data"]["results"]) == 2, result
    assert art.parts[1].text.startswith("hub_repos.list: HTTP 200"), art.parts[1].text
    checks += 1

    # stream through the SDK
    sclient = await create_client(url, client_config=ClientConfig(streaming=True))
    kinds = []
    async for ev in sclient.send_message(pb.SendMessageRequest(message=user_message(
            {"data": {"tool": "hub_admin", "action": "whoami"}}))):
        kinds.append(ev.WhichOneof("payload"))
        last = ev
    assert kinds[0] == "task", kinds
    assert "artifact_update" in kinds and "status_update" in kinds, kinds
    assert last.status_update.status.state == pb.TaskState.TASK_STATE_COMPLETED, last
    checks += 1

    # get and list through the SDK
    got = await client.get_task(pb.GetTaskRequest(id=task.id))
    assert got.id == task.id and got.status.state == pb.TaskState.TASK_STATE_COMPLETED
    listed = await client.list_tasks(pb.ListTasksRequest(page_size=10))
    assert listed.total_size >= 2 and any(t.id == task.id for t in listed.tasks), listed
    checks += 1

    # cancel: a destructive action waits for confirmation, then is cancelled
    events = [e async for e in client.send_message(pb.SendMessageRequest(message=user_message(
        {"data": {"tool": "hub_teams", "action": "delete", "params": {"org_name": "acme", "group_name": "qa"}}})))]
    waiting = events[0].task
    assert waiting.status.state == pb.TaskState.TASK_STATE_INPUT_REQUIRED, waiting.status
    cancelled = await client.cancel_task(pb.CancelTaskRequest(id=waiting.id))
    assert cancelled.status.state == pb.TaskState.TASK_STATE_CANCELED, cancelled.status
    checks += 1

    # Strict parsing of the raw JSON of every method.
    strict(rpc(url, "SendMessage", {"message": json_format.MessageToDict(user_message({"data": data}))}),
           pb.SendMessageResponse())
    strict(rpc(url, "GetTask", {"id": task.id}), pb.Task())
    strict(rpc(url, "ListTasks", {"includeArtifacts": True}), pb.ListTasksResponse())
    strict(rpc(url, "CancelTask", {"id": strict(rpc(url, "SendMessage", {"message": json_format.MessageToDict(
        user_message({"data": {"tool": "hub_teams", "action": "delete",
                               "params": {"org_name": "acme", "group_name": "ops"}}}))}),
        pb.SendMessageResponse()).task.id}), pb.Task())
    with httpx.stream("POST", url + "/", json={"jsonrpc": "2.0", "id": 2, "method": "SendStreamingMessage",
                      "params": {"message": json_format.MessageToDict(user_message({"text": "hello"}))}},
                      headers={"A2A-Version": "1.0"}, timeout=30) as r:
        n = 0
        for line in r.iter_lines():
            if line.startswith("data:"):
                ev = json.loads(line[5:])
                strict(ev["result"], pb.StreamResponse())
                n += 1
        assert n >= 2, n
    checks += 1

    # An error answer carries google.rpc.ErrorInfo.
    r = httpx.post(url + "/", json={"jsonrpc": "2.0", "id": 3, "method": "GetTask", "params": {"id": "missing"}}).json()
    assert r["error"]["code"] == -32001 and r["error"]["data"][0]["@type"].endswith("google.rpc.ErrorInfo"), r
    checks += 1

    await client.close()
    await sclient.close()
    print(f"a2a-sdk client: {checks} passed, 0 failed")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1].rstrip("/")))
