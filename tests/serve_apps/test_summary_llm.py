"""The optional LLM renderer against a real OpenAI-compatible HTTP server started here (http.server in a
thread): a faithful rephrase is accepted, a reply that changes or adds a number is rejected (the template
text is used and the answer says why), a repeat is a cache hit (the server sees no second request)."""

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from serve_apps.summary import LLMConfig, Summarizer, SummaryConfig
from tests.serve_apps.summary_fixtures import summarize


def faithful(text: str) -> str:
    """A rephrase that keeps every number: other words, other bullets."""
    return (text.replace("What is strong", "Your strengths").replace("- ", "• ")
            .replace("at the median the model predicts", "bringing it to the typical value would give"))


def change_a_number(text: str) -> str:
    return re.sub(r"\+(\d+)%", lambda m: f"+{int(m.group(1)) + 1}%", text, count=1)


def add_a_number(text: str) -> str:
    return faithful(text) + "\nExpect about 1,000,000 views next month.\n"


class ChatServer:
    """POST /v1/chat/completions as the OpenAI API answers it; `reply` decides what the 'model' says."""

    def __init__(self):
        self.requests: list[dict] = []
        self.reply = faithful
        self.status = 200
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
                if server.status != 200:
                    self.send_response(server.status)
                    self.end_headers()
                    return
                text = body["messages"][-1]["content"]
                doc = {"id": "chatcmpl-1", "object": "chat.completion", "model": body["model"],
                       "choices": [{"index": 0, "finish_reason": "stop",
                                    "message": {"role": "assistant", "content": server.reply(text)}}]}
                data = json.dumps(doc).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def chat_server():
    with ChatServer() as server:
        yield server


def llm_summarizer(summary_train_dir, summary_v0, url, **kw):
    llm = LLMConfig(base_url=url, model="tiny-chat", api_key_env="TF_TEST_LLM_KEY", **kw)
    return Summarizer.load(summary_train_dir, models={"v0": summary_v0}, config=SummaryConfig(llm=llm))


def test_a_faithful_rephrase_is_used_versioned_and_cached(chat_server, summarizer, summary_train_dir, summary_v0,
                                                          video_with_actions, monkeypatch):
    monkeypatch.setenv("TF_TEST_LLM_KEY", "sk-test")
    features, category = video_with_actions
    s = llm_summarizer(summary_train_dir, summary_v0, chat_server.url)
    template, _ = summarize(summarizer, summary_v0, features, category)
    out, _ = summarize(s, summary_v0, features, category)
    assert len(chat_server.requests) == 1
    req = chat_server.requests[0]
    assert req["path"] == "/v1/chat/completions" and req["auth"] == "Bearer sk-test"
    assert req["body"]["model"] == "tiny-chat" and req["body"]["messages"][-1]["content"] == template["text"]
    assert out["text"] == faithful(template["text"]).strip() + "\n"
    r = out["renderer"]
    assert r["kind"] == "llm" and r["llm_model"] == "tiny-chat" and r["prompt_version"] == "1"
    assert re.fullmatch(r"[0-9a-f]{16}", r["prompt_hash"]) and r["cached"] is False
    assert out["actions"] == template["actions"]  # the structured facts are the template's, whatever the text

    again, _ = summarize(s, summary_v0, features, category)  # same (video, run, profile, model, prompt, locale)
    assert len(chat_server.requests) == 1 and again["renderer"]["cached"] is True and again["text"] == out["text"]
    summarize(s, summary_v0, features, category, locale="ru")  # another locale: another prompt and key
    summarize(s, summary_v0, features, category, cache_key=(features["video_id"], "run-2", "author"))
    assert len(chat_server.requests) == 3
    ru_hash = summarize(s, summary_v0, features, category, locale="ru")[0]["renderer"]["prompt_hash"]
    assert len(chat_server.requests) == 3 and ru_hash != r["prompt_hash"]


def test_a_reply_that_changes_or_adds_a_number_is_rejected(chat_server, summarizer, summary_train_dir, summary_v0,
                                                           video_with_actions):
    features, category = video_with_actions
    template, _ = summarize(summarizer, summary_v0, features, category)
    assert re.search(r"\+\d+%", template["text"])  # there is a number for the server to change
    for reply, why in ((change_a_number, "numbers that the template text does not"),
                       (add_a_number, "1000000")):
        chat_server.reply = reply
        s = llm_summarizer(summary_train_dir, summary_v0, chat_server.url)
        out, _ = summarize(s, summary_v0, features, category)
        assert out["text"] == template["text"]
        assert out["renderer"]["kind"] == "template" and why in out["renderer"]["llm_rejected"]
        assert out["renderer"]["llm_model"] == "tiny-chat"
        calls = len(chat_server.requests)
        summarize(s, summary_v0, features, category)  # the rejection is cached too: no second request
        assert len(chat_server.requests) == calls


def test_a_cached_reply_of_another_template_text_is_not_reused(chat_server, summary_train_dir, summary_v0,
                                                               video_with_actions):
    features, category = video_with_actions
    s = llm_summarizer(summary_train_dir, summary_v0, chat_server.url)
    first, _ = summarize(s, summary_v0, features, category)
    # same cache key, but the inputs changed (a newer snapshot count): the forecast and text differ, so ask again
    second, _ = summarize(s, summary_v0, {**features, "views_t0": features["views_t0"] * 3}, category)
    assert len(chat_server.requests) == 2 and second["text"] != first["text"]
    assert second["renderer"]["cached"] is False


def test_an_endpoint_error_falls_back_to_the_template(chat_server, summarizer, summary_train_dir, summary_v0,
                                                      video_with_actions):
    features, category = video_with_actions
    template, _ = summarize(summarizer, summary_v0, features, category)
    chat_server.status = 500
    out, _ = summarize(llm_summarizer(summary_train_dir, summary_v0, chat_server.url), summary_v0, features, category)
    assert out["text"] == template["text"] and out["renderer"]["kind"] == "template"
    assert "500" in out["renderer"]["llm_error"]
    down = llm_summarizer(summary_train_dir, summary_v0, "http://127.0.0.1:9/v1", timeout_s=2)  # nothing listens
    out, _ = summarize(down, summary_v0, features, category)
    assert out["text"] == template["text"] and "ConnectError" in out["renderer"]["llm_error"]
