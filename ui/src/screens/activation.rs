//! Activation: the device-login code, the URL to type it at, and a QR code
//! of the URL with the code filled in (RFC 8628's `verification_uri_complete`),
//! so a phone can confirm without typing anything. The screen leaves by
//! itself when the daemon reports the login complete.

use embedded_graphics::prelude::*;

use super::{Ctx, Intent, Screen};
use crate::event::{Command, LoginState};
use crate::input::Key;
use crate::scene::{Font, Node, Scene};
use crate::theme;

/// The activation screen's state.
#[derive(Debug, Clone, Default)]
pub struct ActivationScreen {
    login: Option<LoginState>,
}

impl ActivationScreen {
    /// Takes the login state.
    pub fn set_login(&mut self, login: LoginState) {
        self.login = Some(login);
    }
}

impl Screen for ActivationScreen {
    fn scene(&self, ctx: &Ctx<'_>, scene: &mut Scene) {
        let theme = ctx.theme;
        let screen = theme.screen();
        match &self.login {
            Some(LoginState::ShowingCode {
                user_code,
                verification_uri,
                verification_uri_complete,
            }) => {
                let x = theme.px(80);
                let width = theme.upx(640);
                scene.push(Node::text(
                    theme,
                    Point::new(x, theme.px(120)),
                    "Sign in to ottbox",
                    Font::Heading,
                    theme::TEXT,
                    width,
                ));
                scene.push(Node::text(
                    theme,
                    Point::new(x, theme.px(190)),
                    "On your phone or computer, go to",
                    Font::Body,
                    theme::DIM,
                    width,
                ));
                scene.push(Node::text(
                    theme,
                    Point::new(x, theme.px(220)),
                    verification_uri,
                    Font::Body,
                    theme::TEXT,
                    width,
                ));
                scene.push(Node::text(
                    theme,
                    Point::new(x, theme.px(270)),
                    "and enter the code",
                    Font::Body,
                    theme::DIM,
                    width,
                ));
                scene.push(Node::text(
                    theme,
                    Point::new(x, theme.px(310)),
                    user_code,
                    Font::Large,
                    theme::FOCUS,
                    width,
                ));
                scene.push(Node::text(
                    theme,
                    Point::new(x, theme.px(400)),
                    "or scan the code with your phone's camera",
                    Font::Body,
                    theme::DIM,
                    width,
                ));
                scene.push(Node::Qr {
                    rect: theme.rect(800, 160, 400, 400),
                    data: verification_uri_complete.clone(),
                });
            }
            Some(LoginState::LoggedOut) => {
                scene.push(Node::centred(
                    theme,
                    screen,
                    theme.px(340),
                    "Getting a sign-in code...",
                    Font::Heading,
                    theme::DIM,
                ));
            }
            Some(LoginState::LoggedIn) => {
                scene.push(Node::centred(
                    theme,
                    screen,
                    theme.px(340),
                    "Signed in",
                    Font::Heading,
                    theme::DIM,
                ));
            }
            None => {
                scene.push(Node::centred(
                    theme,
                    screen,
                    theme.px(340),
                    "Starting...",
                    Font::Heading,
                    theme::DIM,
                ));
            }
        }
    }

    fn key(&mut self, _key: Key, _ctx: &Ctx<'_>, _out: &mut Vec<Command>) -> Intent {
        // Nothing to steer: the phone does the work.
        Intent::Stay
    }
}
