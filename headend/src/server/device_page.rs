//! The page where a viewer confirms a TV's login from a phone or laptop.
//!
//! `GET /device?user_code=...` shows a plain HTML form (e-mail, password,
//! the code, Allow / Deny); `POST /device` checks the password (argon2, off
//! the async runtime) and records the decision. Plain forms work on every
//! browser, need no JavaScript, and are what a test drives as a browser
//! would.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::Html;
use axum::routing::get;
use ottbox_protocol::auth::VERIFICATION_PATH;

use super::AppState;
use crate::auth::device::{self, Decision};
use crate::auth::password;

/// The verification page routes.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route(VERIFICATION_PATH, get(form).post(submit))
}

async fn form(Query(q): Query<HashMap<String, String>>) -> Html<String> {
    let code = q.get("user_code").map(String::as_str).unwrap_or_default();
    Html(page(
        "Sign in your TV",
        &format!(
            r#"<p>Enter the code shown on your TV, and sign in to your account.</p>
<form method="post" action="{VERIFICATION_PATH}">
<label>Code <input name="user_code" value="{}" autocomplete="off" required></label>
<label>E-mail <input name="email" type="email" autocomplete="username" required></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button name="action" value="approve">Allow</button>
<button name="action" value="deny">Deny</button>
</form>"#,
            escape(code)
        ),
    ))
}

async fn submit(
    State(state): State<Arc<AppState>>,
    Form(f): Form<HashMap<String, String>>,
) -> (StatusCode, Html<String>) {
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    let (email, pass, action) = (get("email"), get("password"), get("action"));
    let Some(code) = device::normalize_user_code(&get("user_code")) else {
        return failure(
            StatusCode::BAD_REQUEST,
            "That code does not look right. Check the TV and try again.",
        );
    };
    let decision = if action == "deny" {
        Decision::Deny
    } else {
        Decision::Approve
    };
    let outcome = super::blocking(state, move |_, conn| {
        let Some(account) = password::check_credentials(conn, &email, &pass)? else {
            return Ok(Err(StatusCode::UNAUTHORIZED));
        };
        Ok(if device::decide(conn, &code, &account, decision)? {
            Ok(())
        } else {
            Err(StatusCode::BAD_REQUEST)
        })
    })
    .await;
    match (outcome, decision) {
        (Ok(Ok(())), Decision::Approve) => (
            StatusCode::OK,
            Html(page(
                "Your TV is signed in",
                "<p>You can put your phone away: the TV continues by itself.</p>",
            )),
        ),
        (Ok(Ok(())), Decision::Deny) => (
            StatusCode::OK,
            Html(page("Sign-in refused", "<p>The TV was not signed in.</p>")),
        ),
        (Ok(Err(StatusCode::UNAUTHORIZED)), _) => {
            failure(StatusCode::UNAUTHORIZED, "Wrong e-mail or password.")
        }
        (Ok(Err(_)), _) => failure(
            StatusCode::BAD_REQUEST,
            "That code is unknown, expired or already used. Start again on the TV.",
        ),
        (Err(_), _) => failure(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong. Please try again.",
        ),
    }
}

fn failure(status: StatusCode, message: &str) -> (StatusCode, Html<String>) {
    (
        status,
        Html(page(
            "Could not sign in your TV",
            &format!(
                r#"<p class="error">{}</p><p><a href="{VERIFICATION_PATH}">Try again</a></p>"#,
                escape(message)
            ),
        )),
    )
}

fn page(title: &str, body: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ottbox · {title}</title>
<style>body{{font-family:sans-serif;max-width:28em;margin:2em auto;padding:0 1em}}
label{{display:block;margin:.8em 0}}input{{display:block;width:100%;font-size:1.2em}}
button{{font-size:1.1em;margin:.5em .5em 0 0}}.error{{color:#b00}}</style></head>
<body><h1>{title}</h1>
{body}
</body></html>"#
    )
}

/// Escapes text for HTML element and attribute content.
fn escape(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '&' => "&amp;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&#39;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_input_is_escaped() {
        assert_eq!(
            escape(r#"<script>"x"&'"#),
            "&lt;script&gt;&quot;x&quot;&amp;&#39;"
        );
    }
}
