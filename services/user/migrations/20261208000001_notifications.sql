-- Member notifications (docs/notifications.md): email and push about tiers, points, rewards and
-- stamp cards, rendered from per-business templates and delivered by the message queue.

-- A member's channel switches. No row: every channel on. Marketing consent stays on `users`.
CREATE TABLE notification_preferences (
    user_id       uuid        PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    email_enabled boolean     NOT NULL DEFAULT true,
    push_enabled  boolean     NOT NULL DEFAULT true,
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- Devices a member receives push notifications on. The provider's token is encrypted like
-- contact details and found by its keyed hash: a token names one device, so it has one owner.
CREATE TABLE devices (
    id               uuid        PRIMARY KEY,
    user_id          uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    platform         text        NOT NULL CHECK (platform IN ('ios', 'android', 'web')),
    token_hash       bytea       NOT NULL UNIQUE,
    token_ciphertext bytea       NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX devices_user ON devices (user_id);

-- A business's own wording of a notification; without a row the built-in default is used.
CREATE TABLE notification_templates (
    business_id uuid        NOT NULL,
    kind        text        NOT NULL,
    channel     text        NOT NULL CHECK (channel IN ('email', 'push')),
    subject     text        NOT NULL,
    body        text        NOT NULL,
    updated_by  uuid        NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (business_id, kind, channel)
);

-- One row per event and channel a notification was queued for, written in the consumer's
-- transaction: an event delivered again never queues a second message. Kept after delivery
-- (queued messages are deleted once handed over), without recipient or text.
CREATE TABLE notifications (
    event_id    uuid        NOT NULL,
    channel     text        NOT NULL CHECK (channel IN ('email', 'push')),
    user_id     uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    business_id uuid        NOT NULL,
    kind        text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, channel)
);
CREATE INDEX notifications_user ON notifications (user_id);

-- The queue carries push messages too: one per device, removed with the device.
ALTER TABLE outbound_messages DROP CONSTRAINT outbound_messages_channel_check;
ALTER TABLE outbound_messages ADD CONSTRAINT outbound_messages_channel_check
    CHECK (channel IN ('email', 'sms', 'push'));
ALTER TABLE outbound_messages
    ADD COLUMN device_id uuid REFERENCES devices (id) ON DELETE CASCADE,
    -- Push only: the key-value data the app receives with the notification.
    ADD COLUMN data      jsonb;
CREATE INDEX outbound_messages_device ON outbound_messages (device_id) WHERE device_id IS NOT NULL;
