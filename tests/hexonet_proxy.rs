//! `HEXONET_PROXY` and `HEXONET_REFERER`, the SDK's `setProxy` and
//! `setReferer`: HEXONET calls go through the proxy (absolute-form request
//! target) and carry the `Referer` header.

use exh_task::config::Config;
use exh_task::Handler;
use serde_json::json;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const ANSWER: &str = "[RESPONSE]\r\ncode = 200\r\ndescription = Command completed successfully\r\nproperty[AMOUNT][0] = 10.00\r\nEOF\r\n";

/// A forward proxy that answers every request itself and hands back the
/// request's head.
async fn proxy() -> (String, tokio::task::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let served = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut request = Vec::new();
        let mut buffer = [0u8; 4096];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            let read = stream.read(&mut buffer).await.unwrap();
            assert!(read > 0, "the client closed before sending a request");
            request.extend_from_slice(&buffer[..read]);
        }
        let reply = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{ANSWER}",
            ANSWER.len()
        );
        stream.write_all(reply.as_bytes()).await.unwrap();
        let text = String::from_utf8_lossy(&request).into_owned();
        text[..text.find("\r\n\r\n").unwrap()].to_owned()
    });
    (address, served)
}

#[tokio::test]
async fn hexonet_calls_go_through_the_proxy_with_the_referer() {
    let (proxy, served) = proxy().await;
    let vars = [
        ("HEXONET_LOGIN", "me".to_owned()),
        ("HEXONET_PASSWORD", "pw".to_owned()),
        (
            "HEXONET_URL",
            "http://hexonet.invalid/api/call.cgi".to_owned(),
        ),
        ("HEXONET_PROXY", proxy),
        (
            "HEXONET_REFERER",
            "https://shop.example/checkout".to_owned(),
        ),
    ];
    let config = Config::from_lookup(|name| {
        vars.iter()
            .find(|(variable, _)| *variable == name)
            .map(|(_, value)| value.clone())
    })
    .unwrap();
    let handler = Handler::new(config, exh_task::http::client().unwrap());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let result = handler
        .handle(
            json!({"hexonet": {"command": {"COMMAND": "StatusAccount"}}}),
            deadline,
        )
        .await
        .unwrap()
        .to_value();
    assert_eq!(
        result["hexonet"]["properties"]["AMOUNT"][0], "10.00",
        "{result}"
    );

    let head = served.await.unwrap();
    let request_line = head.lines().next().unwrap();
    assert_eq!(
        request_line,
        "POST http://hexonet.invalid/api/call.cgi HTTP/1.1"
    );
    assert!(
        head.lines()
            .any(|line| line.eq_ignore_ascii_case("referer: https://shop.example/checkout")),
        "{head}"
    );
}
