//! Where a service under test sends its email and push notifications: a small SMTP server
//! (enough of RFC 5321 for a real client: EHLO, AUTH PLAIN, MAIL, RCPT, DATA, RSET, NOOP,
//! QUIT) and an HTTP server that takes FCM HTTP v1 `messages:send` requests. Both record what
//! they received for the test's assertions, on a free port of their own.

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// An email as the SMTP server received it.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    /// The envelope sender (`MAIL FROM`).
    pub mail_from: String,
    /// The envelope recipients (`RCPT TO`) the server accepted.
    pub rcpt_to: Vec<String>,
    /// The user the client authenticated as, if it did.
    pub authenticated_as: Option<String>,
    /// The message as sent after `DATA`: headers, a blank line, the body (dot-stuffing undone).
    pub data: String,
}

impl ReceivedMail {
    fn split(&self) -> (&str, &str) {
        let data = self.data.as_str();
        for separator in ["\r\n\r\n", "\n\n"] {
            if let Some(i) = data.find(separator) {
                return (&data[..i], &data[i + separator.len()..]);
            }
        }
        (data, "")
    }

    /// The header `name` (case-insensitive), unfolded, with RFC 2047 encoded words decoded.
    pub fn header(&self, name: &str) -> Option<String> {
        let (headers, _) = self.split();
        let mut unfolded: Vec<String> = Vec::new();
        for line in headers.lines() {
            let line = line.trim_end_matches('\r');
            if line.starts_with([' ', '\t']) {
                if let Some(last) = unfolded.last_mut() {
                    last.push_str(line);
                    continue;
                }
            }
            unfolded.push(line.to_owned());
        }
        unfolded.iter().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim()
                .eq_ignore_ascii_case(name)
                .then(|| decode_encoded_words(value.trim()))
        })
    }

    /// Every header name, in order (to check that nothing was added).
    pub fn header_names(&self) -> Vec<String> {
        let (headers, _) = self.split();
        headers
            .lines()
            .filter(|l| !l.starts_with([' ', '\t']))
            .filter_map(|l| l.split_once(':').map(|(k, _)| k.trim().to_owned()))
            .collect()
    }

    pub fn subject(&self) -> String {
        self.header("Subject").unwrap_or_default()
    }

    /// The body, its transfer encoding (quoted-printable, base64) undone, with `\n` line ends.
    pub fn body(&self) -> String {
        let (_, body) = self.split();
        let encoding = self
            .header("Content-Transfer-Encoding")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let bytes = match encoding.as_str() {
            "quoted-printable" => decode_quoted_printable(body),
            "base64" => decode_base64(&body.split_whitespace().collect::<String>()),
            _ => body.as_bytes().to_vec(),
        };
        String::from_utf8_lossy(&bytes).replace("\r\n", "\n")
    }
}

#[derive(Default)]
struct SmtpState {
    mails: Vec<ReceivedMail>,
    refused: HashSet<String>,
    /// Set: clients must authenticate with these (AUTH PLAIN) before sending.
    credentials: Option<(String, String)>,
}

/// A test SMTP server on `127.0.0.1`.
pub struct SmtpServer {
    port: u16,
    state: Arc<Mutex<SmtpState>>,
    task: tokio::task::JoinHandle<()>,
}

impl SmtpServer {
    /// A server that takes mail from anyone.
    pub async fn start() -> anyhow::Result<Self> {
        Self::serve(None).await
    }

    /// A server that takes mail only after `AUTH PLAIN` with `user` and `password`.
    pub async fn start_with_auth(user: &str, password: &str) -> anyhow::Result<Self> {
        Self::serve(Some((user.to_owned(), password.to_owned()))).await
    }

    async fn serve(credentials: Option<(String, String)>) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let state = Arc::new(Mutex::new(SmtpState {
            credentials,
            ..SmtpState::default()
        }));
        let shared = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = shared.clone();
                tokio::spawn(async move {
                    let _ = session(stream, state).await;
                });
            }
        });
        Ok(Self { port, state, task })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL a client is configured with: `smtp://[user:password@]127.0.0.1:port`.
    pub fn url(&self) -> String {
        match &self.state.lock().unwrap().credentials {
            Some((user, password)) => format!("smtp://{user}:{password}@127.0.0.1:{}", self.port),
            None => format!("smtp://127.0.0.1:{}", self.port),
        }
    }

    /// Refuses `address` at `RCPT TO` for good (550), as a server does for a mailbox that does
    /// not exist.
    pub fn refuse(&self, address: &str) {
        self.state
            .lock()
            .unwrap()
            .refused
            .insert(address.to_ascii_lowercase());
    }

    /// Every message received so far.
    pub fn received(&self) -> Vec<ReceivedMail> {
        self.state.lock().unwrap().mails.clone()
    }

    /// The messages received for `address`.
    pub fn to(&self, address: &str) -> Vec<ReceivedMail> {
        self.received()
            .into_iter()
            .filter(|m| m.rcpt_to.iter().any(|r| r.eq_ignore_ascii_case(address)))
            .collect()
    }

    /// Waits (10 s at most) until `count` messages for `address` have arrived; returns them all.
    pub async fn wait_for(&self, address: &str, count: usize) -> anyhow::Result<Vec<ReceivedMail>> {
        crate::eventually(Duration::from_secs(10), || async {
            let mails = self.to(address);
            Ok((mails.len() >= count).then_some(mails))
        })
        .await
        .map_err(|_| {
            anyhow::anyhow!(
                "{count} messages to {address} never arrived (got {})",
                self.to(address).len()
            )
        })
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The address inside `<...>` of a `MAIL FROM:` or `RCPT TO:` argument.
fn angle_address(argument: &str) -> Option<String> {
    let start = argument.find('<')?;
    let end = argument[start..].find('>')? + start;
    Some(argument[start + 1..end].to_owned())
}

async fn session(stream: TcpStream, state: Arc<Mutex<SmtpState>>) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    let needs_auth = state.lock().unwrap().credentials.is_some();
    let mut authenticated_as: Option<String> = None;
    let mut mail_from: Option<String> = None;
    let mut rcpt_to: Vec<String> = Vec::new();
    write.write_all(b"220 testkit ESMTP ready\r\n").await?;
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end_matches(['\r', '\n']);
        let (verb, argument) = command.split_once(' ').unwrap_or((command, ""));
        let reply: String = match verb.to_ascii_uppercase().as_str() {
            "EHLO" => {
                "250-testkit greets you\r\n250-8BITMIME\r\n250-AUTH PLAIN\r\n250 SIZE 10485760\r\n"
                    .into()
            }
            "HELO" => "250 testkit\r\n".into(),
            "AUTH" => {
                let (mechanism, initial) = argument.split_once(' ').unwrap_or((argument, ""));
                if !mechanism.eq_ignore_ascii_case("PLAIN") {
                    "504 5.5.4 only PLAIN\r\n".into()
                } else {
                    let response = if initial.is_empty() {
                        write.write_all(b"334 \r\n").await?;
                        let mut next = String::new();
                        lines.read_line(&mut next).await?;
                        next.trim().to_owned()
                    } else {
                        initial.trim().to_owned()
                    };
                    // authzid NUL authcid NUL password
                    let decoded = String::from_utf8_lossy(&decode_base64(&response)).into_owned();
                    let mut parts = decoded.split('\0').skip(1);
                    let (user, password) = (
                        parts.next().unwrap_or_default().to_owned(),
                        parts.next().unwrap_or_default().to_owned(),
                    );
                    let accepted = match &state.lock().unwrap().credentials {
                        Some((u, p)) => *u == user && *p == password,
                        None => true,
                    };
                    if accepted {
                        authenticated_as = Some(user);
                        "235 2.7.0 authenticated\r\n".into()
                    } else {
                        "535 5.7.8 authentication credentials invalid\r\n".into()
                    }
                }
            }
            "MAIL" if needs_auth && authenticated_as.is_none() => {
                "530 5.7.0 authentication required\r\n".into()
            }
            "MAIL" => match angle_address(argument) {
                Some(from) => {
                    mail_from = Some(from);
                    rcpt_to.clear();
                    "250 2.1.0 ok\r\n".into()
                }
                None => "501 5.5.4 syntax: MAIL FROM:<address>\r\n".into(),
            },
            "RCPT" => match (angle_address(argument), &mail_from) {
                (_, None) => "503 5.5.1 MAIL first\r\n".into(),
                (None, _) => "501 5.5.4 syntax: RCPT TO:<address>\r\n".into(),
                (Some(to), Some(_)) => {
                    if state
                        .lock()
                        .unwrap()
                        .refused
                        .contains(&to.to_ascii_lowercase())
                    {
                        "550 5.1.1 no such mailbox\r\n".into()
                    } else {
                        rcpt_to.push(to);
                        "250 2.1.5 ok\r\n".into()
                    }
                }
            },
            "DATA" if mail_from.is_none() || rcpt_to.is_empty() => {
                "503 5.5.1 MAIL and RCPT first\r\n".into()
            }
            "DATA" => {
                write
                    .write_all(b"354 end data with <CR><LF>.<CR><LF>\r\n")
                    .await?;
                let mut data = String::new();
                loop {
                    let mut next = String::new();
                    if lines.read_line(&mut next).await? == 0 {
                        return Ok(());
                    }
                    if next == ".\r\n" || next == ".\n" {
                        break;
                    }
                    // Dot-stuffing: a line starting with a dot was sent with one more.
                    data.push_str(next.strip_prefix('.').unwrap_or(&next));
                }
                state.lock().unwrap().mails.push(ReceivedMail {
                    mail_from: mail_from.take().unwrap_or_default(),
                    rcpt_to: std::mem::take(&mut rcpt_to),
                    authenticated_as: authenticated_as.clone(),
                    data,
                });
                "250 2.0.0 queued\r\n".into()
            }
            "RSET" => {
                mail_from = None;
                rcpt_to.clear();
                "250 2.0.0 ok\r\n".into()
            }
            "NOOP" => "250 2.0.0 ok\r\n".into(),
            "QUIT" => {
                write.write_all(b"221 2.0.0 bye\r\n").await?;
                return Ok(());
            }
            _ => "502 5.5.2 command not implemented\r\n".into(),
        };
        write.write_all(reply.as_bytes()).await?;
    }
}

fn decode_base64(text: &str) -> Vec<u8> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::new();
    let mut buffer = 0u32;
    let mut bits = 0;
    for c in text.bytes().filter_map(value) {
        buffer = (buffer << 6) | c;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    out
}

fn decode_quoted_printable(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'=' if bytes[i + 1..].starts_with(b"\r\n") => i += 3,
            b'=' if bytes[i + 1..].starts_with(b"\n") => i += 2,
            b'=' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                    }
                    None => {
                        out.push(b'=');
                        i += 1;
                    }
                }
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// Decodes the RFC 2047 encoded words (`=?utf-8?b?...?=`, `=?utf-8?q?...?=`) in a header value;
/// whitespace between two encoded words is dropped, as the RFC says.
fn decode_encoded_words(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    let mut after_word = false;
    while let Some(start) = rest.find("=?") {
        let between = &rest[..start];
        let word = &rest[start + 2..];
        let mut parts = word.splitn(3, '?');
        let (Some(_charset), Some(encoding), Some(tail)) =
            (parts.next(), parts.next(), parts.next())
        else {
            break;
        };
        let Some(end) = tail.find("?=") else { break };
        if !(after_word && between.trim().is_empty()) {
            out.push_str(between);
        }
        let text = &tail[..end];
        let bytes = if encoding.eq_ignore_ascii_case("b") {
            decode_base64(text)
        } else {
            decode_quoted_printable(&text.replace('_', " "))
        };
        out.push_str(&String::from_utf8_lossy(&bytes));
        after_word = true;
        rest = &tail[end + 2..];
    }
    out.push_str(rest);
    out
}

/// A push notification as the receiver got it.
#[derive(Debug, Clone)]
pub struct ReceivedPush {
    /// The project in the path (`/v1/projects/{project}/messages:send`).
    pub project: String,
    /// The `Authorization` header as sent.
    pub authorization: Option<String>,
    /// The request's `message`.
    pub message: serde_json::Value,
}

impl ReceivedPush {
    pub fn token(&self) -> &str {
        self.message["token"].as_str().unwrap_or_default()
    }

    pub fn title(&self) -> &str {
        self.message["notification"]["title"]
            .as_str()
            .unwrap_or_default()
    }

    pub fn body(&self) -> &str {
        self.message["notification"]["body"]
            .as_str()
            .unwrap_or_default()
    }

    /// A value of the message's `data`.
    pub fn data(&self, key: &str) -> Option<&str> {
        self.message["data"][key].as_str()
    }
}

#[derive(Default)]
struct PushState {
    received: Vec<ReceivedPush>,
    /// Tokens answered with FCM's 404 `UNREGISTERED`, as for an app removed from its device.
    unregistered: HashSet<String>,
}

/// A test push provider answering like FCM's HTTP v1 API.
pub struct PushReceiver {
    base_url: String,
    state: Arc<Mutex<PushState>>,
    server: actix_web::dev::ServerHandle,
}

impl PushReceiver {
    pub async fn start() -> anyhow::Result<Self> {
        let state = Arc::new(Mutex::new(PushState::default()));
        let shared = web::Data::from(state.clone());
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(shared.clone())
                .route("/v1/projects/{project}/messages:send", web::post().to(send))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)?
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Ok(Self {
            base_url: format!("http://127.0.0.1:{port}"),
            state,
            server: handle,
        })
    }

    /// The provider's base URL, as a service is configured with it.
    pub fn url(&self) -> &str {
        &self.base_url
    }

    /// From now on, pushes to `token` are answered 404 `UNREGISTERED`.
    pub fn unregister(&self, token: &str) {
        self.state
            .lock()
            .unwrap()
            .unregistered
            .insert(token.to_owned());
    }

    /// Every push received so far, those answered `UNREGISTERED` included.
    pub fn received(&self) -> Vec<ReceivedPush> {
        self.state.lock().unwrap().received.clone()
    }

    /// The pushes sent to `token`.
    pub fn to(&self, token: &str) -> Vec<ReceivedPush> {
        self.received()
            .into_iter()
            .filter(|p| p.token() == token)
            .collect()
    }

    /// Waits (10 s at most) until `count` pushes to `token` have arrived; returns them all.
    pub async fn wait_for(&self, token: &str, count: usize) -> anyhow::Result<Vec<ReceivedPush>> {
        crate::eventually(Duration::from_secs(10), || async {
            let pushes = self.to(token);
            Ok((pushes.len() >= count).then_some(pushes))
        })
        .await
        .map_err(|_| {
            anyhow::anyhow!(
                "{count} pushes to {token} never arrived (got {})",
                self.to(token).len()
            )
        })
    }

    pub async fn stop(self) {
        self.server.stop(false).await;
    }
}

async fn send(
    state: web::Data<Mutex<PushState>>,
    project: web::Path<String>,
    request: HttpRequest,
    body: web::Json<serde_json::Value>,
) -> HttpResponse {
    let message = body.into_inner()["message"].clone();
    let push = ReceivedPush {
        project: project.into_inner(),
        authorization: request
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        message,
    };
    let token = push.token().to_owned();
    let project = push.project.clone();
    let mut state = state.lock().unwrap();
    state.received.push(push);
    if state.unregistered.contains(&token) {
        return HttpResponse::NotFound().json(serde_json::json!({
            "error": {
                "code": 404,
                "message": "Requested entity was not found.",
                "status": "NOT_FOUND",
                "details": [{
                    "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                    "errorCode": "UNREGISTERED"
                }]
            }
        }));
    }
    let id = state.received.len();
    HttpResponse::Ok().json(serde_json::json!({
        "name": format!("projects/{project}/messages/{id}")
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_what_mail_clients_encode() {
        assert_eq!(decode_base64("AHVzZXIAcGFzcw=="), b"\0user\0pass");
        assert_eq!(
            decode_quoted_printable("caf=C3=A9 =3D ok=\r\nnext"),
            "café = oknext".as_bytes()
        );
        assert_eq!(
            decode_encoded_words("=?utf-8?b?Y2Fmw6k=?= =?utf-8?q?_au_lait?= !"),
            "café au lait !"
        );
        assert_eq!(decode_encoded_words("plain"), "plain");
    }
}
