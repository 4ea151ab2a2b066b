//! How a delivery's body looks to its receiver, chosen per webhook: stampbook's own event JSON
//! (`stampbook`, for programs), a Slack incoming-webhook message (`slack`: `text` and Block Kit
//! `blocks`), or a Microsoft Teams message for a Workflows webhook (`teams`: an Adaptive Card in a
//! `message` attachment). The outbox keeps the event; the chat forms are made from it when sent.
//!
//! Teams: Microsoft's "Send Adaptive Cards using an Incoming Webhook" gives the body as
//! `{"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive",
//! "contentUrl": null, "content": <the AdaptiveCard>}]}`, with `Action.OpenUrl` among the supported
//! actions, and says the Workflows app that replaces the retiring Microsoft 365 (Office 365)
//! connectors takes Adaptive Cards only, not the connectors' MessageCard
//! (<https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-connectors/how-to/connectors-using>);
//! an incoming webhook's message is at most 28 KB
//! (<https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-connectors/how-to/add-incoming-webhook>),
//! so the card's texts are clipped. One body therefore serves both a Workflows webhook and a
//! classic incoming webhook.
//!
//! Slack: an incoming webhook takes `text` (the notification and the fallback) and Block Kit
//! `blocks` (<https://api.slack.com/messaging/webhooks>).
//! Text that comes from facts (host names, subjects, messages) is escaped for each format, so it
//! can neither mention a channel nor become a link or formatting.

use serde::Serialize;
use serde_json::{Value, json};

/// A webhook's body format (what the OpenAPI document lists for `format`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// The signed event JSON of docs/WEBHOOKS.md.
    #[default]
    Stampbook,
    /// A Slack incoming-webhook message.
    Slack,
    /// A Microsoft Teams Workflows-webhook message (Adaptive Card).
    Teams,
}

pub const FORMATS: [&str; 3] = ["stampbook", "slack", "teams"];

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "stampbook" => Some(Format::Stampbook),
            "slack" => Some(Format::Slack),
            "teams" => Some(Format::Teams),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Stampbook => "stampbook",
            Format::Slack => "slack",
            Format::Teams => "teams",
        }
    }
}

/// What a chat message says, read from a stored event.
struct Said<'a> {
    resolved: bool,
    id: i64,
    rule: &'a str,
    severity: &'a str,
    stamp: &'a str,
    host: Option<&'a str>,
    plan: Option<&'a str>,
    subject: &'a str,
    message: &'a str,
    opened_at: &'a str,
    resolved_at: Option<&'a str>,
}

impl<'a> Said<'a> {
    fn read(event: &'a Value) -> Said<'a> {
        let p = &event["problem"];
        let s = |k: &str| p[k].as_str().filter(|v| !v.is_empty());
        Said {
            resolved: event["event"] == "problem.resolved",
            id: p["id"].as_i64().unwrap_or_default(),
            rule: s("rule").unwrap_or("?"),
            severity: s("severity").unwrap_or("?"),
            stamp: s("stamp").unwrap_or("?"),
            host: s("host"),
            plan: s("plan"),
            subject: s("subject").unwrap_or(""),
            message: s("message").unwrap_or(""),
            opened_at: s("opened_at").unwrap_or(""),
            resolved_at: s("resolved_at"),
        }
    }

    fn title(&self) -> String {
        let what = if self.resolved { "Resolved" } else { "Opened" };
        let place = match (self.host, self.plan) {
            (Some(h), _) => h.to_owned(),
            (None, Some(plan)) => format!("plan {plan} on {}", self.stamp),
            (None, None) => self.stamp.to_owned(),
        };
        format!(
            "{what}: {} {} on {place}",
            self.severity.to_uppercase(),
            self.rule
        )
    }

    /// (label, value) pairs shown beside the message.
    fn facts(&self) -> Vec<(&'static str, String)> {
        let mut f = vec![
            ("Severity", self.severity.to_owned()),
            ("Stamp", self.stamp.to_owned()),
        ];
        if let Some(h) = self.host {
            f.push(("Host", h.to_owned()));
        }
        if let Some(p) = self.plan {
            f.push(("Plan", p.to_owned()));
        }
        if !self.subject.is_empty() {
            f.push(("Subject", self.subject.to_owned()));
        }
        f.push(("Opened", self.opened_at.to_owned()));
        if let Some(r) = self.resolved_at {
            f.push(("Resolved", r.to_owned()));
        }
        f
    }
}

/// The body a webhook of `format` receives for a stored `event`.
pub fn body(format: Format, event: &Value, public_url: Option<&url::Url>) -> Value {
    match format {
        Format::Stampbook => event.clone(),
        Format::Slack => slack(event, public_url),
        Format::Teams => teams(event, public_url),
    }
}

fn link(said: &Said<'_>, public_url: Option<&url::Url>) -> Option<String> {
    public_url.map(|u| crate::problems::page_url(u, said.stamp, said.id))
}

/// Slack's escaping of text it parses (`&`, `<`, `>`): no `<!channel>`, no `<url|link>`.
pub fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// At most `n` characters (Block Kit refuses longer texts).
fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(n.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn slack(event: &Value, public_url: Option<&url::Url>) -> Value {
    let said = Said::read(event);
    let title = said.title();
    let fields: Vec<Value> = said
        .facts()
        .into_iter()
        .take(10)
        .map(|(k, v)| json!({"type": "mrkdwn", "text": clip(&format!("*{k}*\n{}", slack_escape(&v)), 2000)}))
        .collect();
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": clip(&title, 150)}}),
        json!({"type": "section",
               "text": {"type": "mrkdwn", "text": clip(&slack_escape(said.message), 3000)},
               "fields": fields}),
    ];
    if let Some(url) = link(&said, public_url) {
        blocks.push(json!({"type": "actions", "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": "Open in stampbook"}, "url": url}
        ]}));
    }
    json!({
        // the notification's text, and what clients without blocks show
        "text": clip(&slack_escape(&format!("{title}: {}", said.message)), 3000),
        "blocks": blocks,
    })
}

/// Backslash before what Adaptive Card markdown reads (`*` and `_` emphasis, `[text](url)`
/// links, the backslash itself; it has no headings, quotes or code), so text from facts shows as
/// written and never becomes a link.
pub fn teams_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | '*' | '_' | '[' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn teams(event: &Value, public_url: Option<&url::Url>) -> Value {
    let said = Said::read(event);
    let color = match (said.resolved, said.severity) {
        (true, _) => "Good",
        (false, "critical") => "Attention",
        (false, "warning") => "Warning",
        _ => "Default",
    };
    let facts: Vec<Value> = said
        .facts()
        .into_iter()
        .map(|(k, v)| json!({"title": k, "value": teams_escape(&clip(&v, 200))}))
        .collect();
    let mut card = json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "msteams": {"width": "Full"},
        "body": [
            {"type": "TextBlock", "text": teams_escape(&said.title()), "weight": "Bolder",
             "size": "Medium", "color": color, "wrap": true},
            // well under the 28 KB a Teams message may have, escaped (at most doubled) included
            {"type": "TextBlock", "text": teams_escape(&clip(said.message, 5000)), "wrap": true},
            {"type": "FactSet", "facts": facts},
        ],
    });
    if let (Some(url), Some(o)) = (link(&said, public_url), card.as_object_mut()) {
        o.insert(
            "actions".to_owned(),
            json!([{"type": "Action.OpenUrl", "title": "Open in stampbook", "url": url}]),
        );
    }
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": card,
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: &str, message: &str) -> Value {
        json!({"event": kind, "event_id": "6f1c0000-0000-4000-8000-000000000000",
               "occurred_at": "2026-11-26T06:18:02Z",
               "problem": {"id": 28, "rule": "cert.expiring", "severity": "critical",
                           "stamp": "ams-01", "host": "vmm01.ams-01.example.net", "plan": null,
                           "subject": "AB12", "message": message,
                           "opened_at": "2026-11-26T06:18:02Z", "resolved_at": null}})
    }

    #[test]
    fn formats_are_read_by_name_and_the_default_is_stampbook() {
        for f in FORMATS {
            assert_eq!(Format::parse(f).unwrap().as_str(), f);
        }
        assert_eq!(Format::parse("Slack"), None);
        assert_eq!(Format::default(), Format::Stampbook);
        assert_eq!(
            serde_json::to_value(FORMATS).unwrap(),
            json!(["stampbook", "slack", "teams"])
        );
        assert_eq!(
            serde_json::to_value([Format::Stampbook, Format::Slack, Format::Teams]).unwrap(),
            json!(FORMATS)
        );
    }

    #[test]
    fn the_stampbook_format_is_the_event_itself() {
        let e = event("problem.opened", "m");
        assert_eq!(body(Format::Stampbook, &e, None), e);
    }

    #[test]
    fn slack_gets_text_and_blocks_with_its_special_characters_escaped() {
        let base: url::Url = "https://stampbook.example.net".parse().unwrap();
        let b = body(
            Format::Slack,
            &event("problem.opened", "<!channel> expires & <https://evil|here>"),
            Some(&base),
        );
        let text = b["text"].as_str().unwrap();
        assert!(
            text.starts_with("Opened: CRITICAL cert.expiring on vmm01.ams-01.example.net"),
            "{text}"
        );
        assert!(
            text.contains("&lt;!channel&gt; expires &amp; &lt;https://evil|here&gt;"),
            "{text}"
        );
        assert!(!b.to_string().contains("<!channel>"));
        let blocks = b["blocks"].as_array().unwrap();
        assert_eq!(blocks[0]["type"], "header");
        assert_eq!(blocks[0]["text"]["type"], "plain_text");
        assert_eq!(blocks[1]["text"]["type"], "mrkdwn");
        let fields: Vec<&str> = blocks[1]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["text"].as_str().unwrap())
            .collect();
        assert_eq!(
            fields[..3],
            [
                "*Severity*\ncritical",
                "*Stamp*\nams-01",
                "*Host*\nvmm01.ams-01.example.net"
            ]
        );
        assert_eq!(
            blocks[2]["elements"][0]["url"],
            "https://stampbook.example.net/problems?stamp=ams-01&state=all#p28"
        );
        let long = body(
            Format::Slack,
            &event("problem.resolved", &"x".repeat(5000)),
            None,
        );
        assert_eq!(
            long["blocks"][1]["text"]["text"]
                .as_str()
                .unwrap()
                .chars()
                .count(),
            3000
        );
        assert!(long["text"].as_str().unwrap().starts_with("Resolved: "));
        assert_eq!(
            long["blocks"].as_array().unwrap().len(),
            2,
            "no button without a public URL"
        );
    }

    #[test]
    fn teams_gets_an_adaptive_card_in_a_message_attachment_with_markdown_escaped() {
        let base: url::Url = "https://stampbook.example.net/".parse().unwrap();
        let b = body(
            Format::Teams,
            &event(
                "problem.opened",
                "see [here](https://evil) *now* \"quoted\" a_b\\c",
            ),
            Some(&base),
        );
        assert_eq!(b["type"], "message");
        let a = &b["attachments"][0];
        assert_eq!(a["contentType"], "application/vnd.microsoft.card.adaptive");
        assert!(a["contentUrl"].is_null());
        let card = &a["content"];
        assert_eq!(card["type"], "AdaptiveCard");
        assert_eq!(card["version"], "1.4");
        assert_eq!(card["body"][0]["color"], "Attention");
        assert_eq!(
            card["body"][1]["text"],
            "see \\[here\\](https://evil) \\*now\\* \"quoted\" a\\_b\\\\c"
        );
        assert_eq!(card["body"][2]["type"], "FactSet");
        assert_eq!(
            card["body"][2]["facts"][1],
            json!({"title": "Stamp", "value": "ams-01"})
        );
        assert_eq!(card["actions"][0]["type"], "Action.OpenUrl");
        assert_eq!(
            card["actions"][0]["url"],
            "https://stampbook.example.net/problems?stamp=ams-01&state=all#p28"
        );
        let long = body(
            Format::Teams,
            &event("problem.opened", &"*".repeat(50_000)),
            None,
        );
        assert!(long.to_string().len() < 28 * 1024, "within Teams' 28 KB");
        let resolved = body(Format::Teams, &event("problem.resolved", "m"), None);
        assert_eq!(
            resolved["attachments"][0]["content"]["body"][0]["color"],
            "Good"
        );
        assert!(
            resolved["attachments"][0]["content"]
                .get("actions")
                .is_none()
        );
    }
}
