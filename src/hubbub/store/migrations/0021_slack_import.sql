-- Slack import (#19): which hubbub row each imported Slack object became, so that running
-- `hubbub import-slack` again finds it and creates nothing. Ids only, never text.
-- rolling: yes
-- (a new table that only the import command names: nodes of the previous release never read it)

CREATE TABLE slack_imports (
    kind       TEXT NOT NULL,   -- user | bot | conversation | message | file
    slack_id   TEXT NOT NULL,   -- U.., B.., C../G../D.. ids; a message: "<conversation id>/<ts>"
    hubbub_id  TEXT NOT NULL,   -- users.id, rooms.id, messages.id or uploads.id
    created_at BIGINT NOT NULL,
    PRIMARY KEY (kind, slack_id)
);
