//! Outgoing email, SMS and push: what a code message says, and how failed deliveries back off.

use super::codes::CodePurpose;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageChannel {
    Email,
    Sms,
    Push,
}

impl MessageChannel {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageChannel::Email => "email",
            MessageChannel::Sms => "sms",
            MessageChannel::Push => "push",
        }
    }
}

/// A message to queue, without its recipient.
#[derive(Debug, Clone)]
pub struct CodeMessage {
    pub channel: MessageChannel,
    pub subject: &'static str,
    pub body: String,
}

/// The message that carries a one-time code for `purpose`.
pub fn code_message(purpose: CodePurpose, code: &str, ttl_secs: i64) -> CodeMessage {
    let minutes = ttl_secs / 60;
    let (channel, subject, body) = match purpose {
        CodePurpose::VerifyEmail => (
            MessageChannel::Email,
            "Confirm your email address",
            format!("Your confirmation code is {code}. It expires in {minutes} minutes."),
        ),
        CodePurpose::VerifyPhone => (
            MessageChannel::Sms,
            "Confirm your phone number",
            format!("Your confirmation code is {code}. It expires in {minutes} minutes."),
        ),
        CodePurpose::PasswordReset => (
            MessageChannel::Email,
            "Reset your password",
            format!(
                "Your password reset code is {code}. It expires in {minutes} minutes. \
                 If you did not ask to reset your password, ignore this message."
            ),
        ),
    };
    CodeMessage {
        channel,
        subject,
        body,
    }
}

/// The email an account's owner gets when someone registers with their address. Registration
/// answers exactly as for a new address, so only the owner learns that the account exists.
pub fn account_exists_message() -> CodeMessage {
    CodeMessage {
        channel: MessageChannel::Email,
        subject: "Someone tried to register with your email address",
        body: "An account with this email address already exists. If it was you, log in, or \
               reset your password if you have forgotten it. If it was not you, ignore this \
               message: nothing has changed."
            .to_owned(),
    }
}

/// Seconds before retrying a delivery that has failed `attempts` times: 5 s doubling, at most
/// an hour.
pub fn retry_backoff_secs(attempts: i32) -> i64 {
    (5i64 << attempts.clamp(0, 10)).min(3600)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_go_by_email_or_sms_and_say_when_they_expire() {
        let sms = code_message(CodePurpose::VerifyPhone, "123456", 900);
        assert_eq!(sms.channel, MessageChannel::Sms);
        assert!(sms.body.contains("123456") && sms.body.contains("15 minutes"));
        let reset = code_message(CodePurpose::PasswordReset, "654321", 900);
        assert_eq!(reset.channel, MessageChannel::Email);
        assert!(reset.subject.contains("Reset"));
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(retry_backoff_secs(0), 5);
        assert_eq!(retry_backoff_secs(1), 10);
        assert_eq!(retry_backoff_secs(20), 3600);
    }
}
