-- How a webhook's deliveries look: stampbook's signed event JSON (as before), or a chat message
-- made from it when sent (Slack incoming webhook, Microsoft Teams Workflows webhook).
alter table webhooks
    add column format text not null default 'stampbook'
        constraint webhooks_format_check check (format in ('stampbook', 'slack', 'teams'));
