//! `OpenAiClient` against the scripted model server: what it sends, how it
//! reads whole and streamed replies, when it retries and how it fails.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::time::{Duration, Instant};

use llmagent_llm::{
    ChatRequest, ChatResponse, ClientConfig, FunctionCall, LlmClient, LlmError, Message,
    OpenAiClient, ResponseFormat, ToolCall, ToolDef, Usage,
};
use llmagent_tests::model_server::{ModelServer, Reply};
use serde_json::{Value, json};

/// A client for `server` with quick backoffs, after `tweak`.
fn client(server: &ModelServer, tweak: impl FnOnce(&mut ClientConfig)) -> OpenAiClient {
    let mut config = ClientConfig::new(server.base_url());
    config.backoff_base = Duration::from_millis(10);
    config.backoff_max = Duration::from_millis(40);
    tweak(&mut config);
    OpenAiClient::new(config).unwrap()
}

fn request() -> ChatRequest {
    ChatRequest {
        model: "m".to_owned(),
        messages: vec![Message::system("be brief"), Message::user("hi")],
        ..ChatRequest::default()
    }
}

fn messages_json() -> Value {
    json!([{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}])
}

fn usage() -> Option<Usage> {
    Some(Usage {
        prompt_tokens: 10,
        completion_tokens: 5,
        total_tokens: 15,
    })
}

fn call(id: &str, name: &str, arguments: &str) -> ToolCall {
    ToolCall {
        id: id.to_owned(),
        kind: "function".to_owned(),
        function: FunctionCall {
            name: name.to_owned(),
            arguments: arguments.to_owned(),
        },
    }
}

/// Streams `request()`; returns the outcome and the pieces `on_text` got.
async fn stream(client: &OpenAiClient) -> (Result<ChatResponse, LlmError>, Vec<String>) {
    let mut pieces = Vec::new();
    let result = client
        .chat_stream(&request(), &mut |piece| pieces.push(piece.to_owned()))
        .await;
    (result, pieces)
}

fn invalid(message: &str) -> LlmError {
    LlmError::InvalidReply {
        message: message.to_owned(),
    }
}

#[tokio::test]
async fn a_plain_answer_and_the_whole_request_sent() {
    let server = ModelServer::start();
    server.push(Reply::text("hello"));
    let client = client(&server, |c| c.api_key = Some("sk-test".to_owned()));
    let mut request = request();
    request.temperature = Some(0.25);
    request.max_tokens = Some(100);

    let reply = client.chat(&request).await.unwrap();

    assert_eq!(
        reply,
        ChatResponse {
            content: Some("hello".to_owned()),
            tool_calls: vec![],
            finish_reason: Some("stop".to_owned()),
            usage: usage(),
            model: Some("scripted".to_owned()),
            attempts: 1,
        }
    );
    let sent = server.requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        (sent[0].method.as_str(), sent[0].path.as_str()),
        ("POST", "/v1/chat/completions")
    );
    assert_eq!(sent[0].header("authorization"), Some("Bearer sk-test"));
    assert_eq!(sent[0].header("content-type"), Some("application/json"));
    assert_eq!(
        sent[0].body,
        json!({"model": "m", "messages": messages_json(), "temperature": 0.25, "max_tokens": 100})
    );
}

#[tokio::test]
async fn no_key_no_authorization_header() {
    let server = ModelServer::start();
    server.push(Reply::null_content());
    let reply = client(&server, |_| {}).chat(&request()).await.unwrap();
    assert_eq!((reply.content, reply.attempts), (None, 1));
    assert_eq!(server.requests()[0].header("authorization"), None);
}

#[tokio::test]
async fn tools_and_response_format_are_serialised() {
    let server = ModelServer::start();
    server.push(Reply::text("{}"));
    let mut request = request();
    request.tools = vec![ToolDef {
        name: "read_file".to_owned(),
        description: "Reads a file".to_owned(),
        parameters: json!({"type": "object", "properties": {"path": {"type": "string"}}}),
    }]
    .into();
    request.response_format = Some(ResponseFormat {
        name: "step".to_owned(),
        schema: json!({"type": "object"}),
    });

    client(&server, |_| {}).chat(&request).await.unwrap();

    assert_eq!(
        server.requests()[0].body,
        json!({
            "model": "m",
            "messages": messages_json(),
            "tools": [{"type": "function", "function": {
                "name": "read_file",
                "description": "Reads a file",
                "parameters": {"type": "object", "properties": {"path": {"type": "string"}}}
            }}],
            "response_format": {"type": "json_schema", "json_schema": {
                "name": "step", "schema": {"type": "object"}, "strict": true
            }}
        })
    );
}

#[tokio::test]
async fn a_tool_calls_reply() {
    let server = ModelServer::start();
    server.push(Reply::tool_calls(&[
        ("c1", "read_file", r#"{"path":"/etc/hosts"}"#),
        ("c2", "list", "{}"),
    ]));
    let reply = client(&server, |_| {}).chat(&request()).await.unwrap();
    assert_eq!(
        reply,
        ChatResponse {
            content: None,
            tool_calls: vec![
                call("c1", "read_file", r#"{"path":"/etc/hosts"}"#),
                call("c2", "list", "{}")
            ],
            finish_reason: Some("tool_calls".to_owned()),
            usage: usage(),
            model: Some("scripted".to_owned()),
            attempts: 1,
        }
    );
}

#[tokio::test]
async fn a_stream_is_assembled_and_handed_on_piece_by_piece() {
    let server = ModelServer::start();
    server.push(Reply::stream_text(&["Hel", "lo, ", "wörld"]));
    let (reply, pieces) = stream(&client(&server, |_| {})).await;
    assert_eq!(
        reply.unwrap(),
        ChatResponse {
            content: Some("Hello, wörld".to_owned()),
            tool_calls: vec![],
            finish_reason: Some("stop".to_owned()),
            usage: usage(),
            model: Some("scripted".to_owned()),
            attempts: 1,
        }
    );
    assert_eq!(pieces, vec!["Hel", "lo, ", "wörld"]);
    let sent = server.requests();
    assert_eq!(sent[0].header("accept"), Some("text/event-stream"));
    assert_eq!(
        sent[0].body,
        json!({"model": "m", "messages": messages_json(), "stream": true,
               "stream_options": {"include_usage": true}})
    );
}

#[tokio::test]
async fn a_stream_of_tool_call_deltas() {
    let server = ModelServer::start();
    server.push(Reply::stream_tool_calls(&[
        ("c1", "read_file", r#"{"path":"/tmp/ä"}"#),
        ("c2", "list", "{}"),
    ]));
    let (reply, pieces) = stream(&client(&server, |_| {})).await;
    assert_eq!(
        reply.unwrap(),
        ChatResponse {
            content: None,
            tool_calls: vec![
                call("c1", "read_file", r#"{"path":"/tmp/ä"}"#),
                call("c2", "list", "{}")
            ],
            finish_reason: Some("tool_calls".to_owned()),
            usage: usage(),
            model: Some("scripted".to_owned()),
            attempts: 1,
        }
    );
    assert_eq!(pieces, Vec::<String>::new());
}

#[tokio::test]
async fn a_stream_cut_midway_is_an_invalid_reply_and_not_retried() {
    let server = ModelServer::start();
    let cut = Reply::stream_cut(&["par", "tial"]);
    let Reply::Sse { events, .. } = &cut else {
        unreachable!()
    };
    let sent_bytes: usize = events.iter().map(|e| format!("data: {e}\n\n").len()).sum();
    server.push(cut);
    server.always(Reply::stream_text(&["never asked for"]));

    let (reply, pieces) = stream(&client(&server, |_| {})).await;

    assert_eq!(
        reply,
        Err(invalid(&format!(
            "the stream was cut off after {sent_bytes} bytes, before a finish_reason or [DONE] \
             (the connection broke: error reading a body from connection: \
             unexpected EOF during chunk size line)"
        )))
    );
    assert_eq!(pieces, vec!["par", "tial"]);
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn a_stream_request_answered_whole_gives_one_piece() {
    let server = ModelServer::start();
    server.push(Reply::text("all at once"));
    let (reply, pieces) = stream(&client(&server, |_| {})).await;
    assert_eq!(reply.unwrap().content.as_deref(), Some("all at once"));
    assert_eq!(pieces, vec!["all at once"]);
}

#[tokio::test]
async fn a_stream_over_the_cap_is_an_invalid_reply() {
    let server = ModelServer::start();
    server.push(Reply::stream_text(&["x"; 100]));
    let (reply, _) = stream(&client(&server, |c| c.max_reply_bytes = 1000)).await;
    assert_eq!(
        reply,
        Err(invalid(
            "the streamed reply is over the cap of 1000 bytes (max_reply_bytes)"
        ))
    );
}

#[tokio::test]
async fn a_429_with_retry_after_is_waited_out() {
    let server = ModelServer::start();
    server.push(Reply::status(429, "slow down").with_header("retry-after", "1"));
    server.push(Reply::text("ok"));
    let started = Instant::now();

    let reply = client(&server, |_| {}).chat(&request()).await.unwrap();

    assert_eq!((reply.content.as_deref(), reply.attempts), (Some("ok"), 2));
    // Only a lower bound: the client must have honoured Retry-After.
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn persistent_500s_fail_after_every_retry() {
    let server = ModelServer::start();
    server.always(Reply::status(500, "boom"));
    let error = client(&server, |c| c.max_retries = 3)
        .chat(&request())
        .await
        .unwrap_err();
    assert_eq!(
        error,
        LlmError::Status {
            status: 500,
            body: "boom".to_owned(),
            attempts: 4
        }
    );
    assert_eq!(server.requests().len(), 4);
}

#[tokio::test]
async fn a_400_is_not_retried() {
    let server = ModelServer::start();
    server.always(Reply::status(400, "unknown model m"));
    let error = client(&server, |_| {}).chat(&request()).await.unwrap_err();
    assert_eq!(
        error,
        LlmError::Status {
            status: 400,
            body: "unknown model m".to_owned(),
            attempts: 1
        }
    );
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_on_each_attempt() {
    let server = ModelServer::start();
    server.always(Reply::Hang);
    let client = client(&server, |c| {
        c.first_byte_timeout = Duration::from_millis(300);
        c.max_retries = 1;
    });
    let error = client.chat(&request()).await.unwrap_err();
    assert_eq!(
        error,
        LlmError::Timeout {
            url: format!("{}/chat/completions", server.base_url()),
            phase: "first byte",
            limit: Duration::from_millis(300),
            attempts: 2
        }
    );
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn a_refused_connection_is_unreachable_and_names_the_url() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let base = format!("http://127.0.0.1:{port}/v1");
    let mut config = ClientConfig::new(&base);
    config.backoff_base = Duration::from_millis(1);
    config.max_retries = 2;
    let error = OpenAiClient::new(config)
        .unwrap()
        .chat(&request())
        .await
        .unwrap_err();
    assert_eq!(
        error,
        LlmError::Unreachable {
            url: format!("{base}/chat/completions"),
            message: "client error (Connect): tcp connect error: Connection refused (os error 111)"
                .to_owned(),
            attempts: 3,
        }
    );
}

#[tokio::test]
async fn a_reply_over_the_cap_is_an_invalid_reply() {
    let server = ModelServer::start();
    server.push(Reply::Raw {
        status: 200,
        content_type: "application/json".to_owned(),
        body: vec![b' '; 5_000_000],
    });
    let error = client(&server, |c| c.max_reply_bytes = 4 * 1024 * 1024)
        .chat(&request())
        .await
        .unwrap_err();
    assert_eq!(
        error,
        invalid("the reply is 5000000 bytes, over the cap of 4194304 bytes (max_reply_bytes)")
    );
}

#[tokio::test]
async fn invalid_utf8_in_content_is_replaced_not_fatal() {
    let server = ModelServer::start();
    server.push(Reply::Raw {
        status: 200,
        content_type: "application/json".to_owned(),
        body: b"{\"choices\":[{\"message\":{\"content\":\"ok \xff\xc3 end\"},\"finish_reason\":\"stop\"}]}"
            .to_vec(),
    });
    let reply = client(&server, |_| {}).chat(&request()).await.unwrap();
    assert_eq!(reply.content.as_deref(), Some("ok \u{FFFD}\u{FFFD} end"));
}

/// A 200 whose body is not a reply is retried like a 5xx: a proxy's error
/// page or a server's hiccup may not be there on the next attempt.
#[tokio::test]
async fn a_200_that_is_not_json_is_retried_and_then_reported() {
    let server = ModelServer::start();
    let gateway = || Reply::Raw {
        status: 200,
        content_type: "text/html".to_owned(),
        body: b"<html>Gateway</html>".to_vec(),
    };
    server.push(gateway());
    server.push(Reply::text("hello"));
    let reply = client(&server, |_| {}).chat(&request()).await.unwrap();
    assert_eq!(
        (reply.content.as_deref(), reply.attempts),
        (Some("hello"), 2)
    );

    let server = ModelServer::start();
    server.always(gateway());
    let error = client(&server, |c| c.max_retries = 2)
        .chat(&request())
        .await
        .unwrap_err();
    assert_eq!(
        error,
        invalid("the reply is not JSON (expected value at line 1 column 1): <html>Gateway</html>")
    );
    assert_eq!(server.requests().len(), 3);
}

/// A connection reset in the middle of a whole (non-streamed) body is
/// retried.
#[tokio::test]
async fn a_body_cut_midway_is_retried() {
    let server = ModelServer::start();
    server.push(Reply::stream_cut(&["par", "tial"]));
    server.push(Reply::text("whole"));
    let reply = client(&server, |_| {}).chat(&request()).await.unwrap();
    assert_eq!(
        (reply.content.as_deref(), reply.attempts),
        (Some("whole"), 2)
    );
}

/// A stream cut before any text was shown is retried: nothing is shown
/// twice.
#[tokio::test]
async fn a_stream_cut_before_any_text_is_retried() {
    let server = ModelServer::start();
    server.push(Reply::stream_cut(&[]));
    server.push(Reply::stream_text(&["after ", "retry"]));
    let (reply, pieces) = stream(&client(&server, |_| {})).await;
    let reply = reply.unwrap();
    assert_eq!(
        (reply.content.as_deref(), reply.attempts),
        (Some("after retry"), 2)
    );
    assert_eq!(pieces, vec!["after ", "retry"]);
}

#[tokio::test]
async fn a_reply_without_choices_is_an_invalid_reply_after_the_retries() {
    let server = ModelServer::start();
    server.always(Reply::Json {
        status: 200,
        body: json!({"choices": []}),
        headers: vec![],
    });
    let error = client(&server, |c| c.max_retries = 1)
        .chat(&request())
        .await
        .unwrap_err();
    assert_eq!(server.requests().len(), 2);
    assert_eq!(
        error,
        invalid(r#"the reply has no choices: {"choices":[]}"#)
    );
}
