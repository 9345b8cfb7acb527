// The shapes of what the API sends, as the client holds them (src/hubbub/web/schemas.py,
// web/community_schemas.py; /openapi.json), plus a few the client makes from them. Types only:
// store.js names each again, so `import("./store.js").Room` and the like keep working.

/**
 * @typedef {object} User
 * @property {string} id
 * @property {string} username
 * @property {string} display_name
 * @property {string} [created_at]
 * @property {boolean} [is_admin]  a server admin
 * @property {string | null} [avatar_url]  their picture, or null (#15)
 * @property {"user" | "bot"} [kind]  a bot account (#19)
 * @property {string | null} [email]  GET/PATCH /me only: my address for missed-message email (#18)
 * @property {boolean} [email_confirmed]  GET/PATCH /me only
 */

/**
 * Who wrote a message: guests of the classic API have no id or username.
 * @typedef {object} Author
 * @property {string | null} [id]
 * @property {string | null} [username]
 * @property {string} display_name
 * @property {boolean} [guest]
 * @property {boolean} [bot]  written by a bot account (#19)
 * @property {string | null} [avatar_url]  their picture when it was sent (#15)
 */

/**
 * @typedef {object} Reaction
 * @property {string} emoji
 * @property {number} count
 * @property {boolean} me  one of them is mine
 */

/**
 * Who a message mentions (#17): user ids by @username, and whether it used @room / @here.
 * @typedef {{users: string[], room: boolean, here: boolean}} Mentions
 */

/**
 * A thread root's summary (#17): null until it has replies.
 * @typedef {{reply_count: number, last_reply_at: string | null, participants: User[]}} ThreadSummary
 */

/**
 * @typedef {object} Message
 * @property {string} id
 * @property {string} room_id
 * @property {number} seq  gapless within its room
 * @property {Author} author
 * @property {string} text
 * @property {string} created_at
 * @property {string | null} edited_at
 * @property {boolean} deleted
 * @property {string | null} reply_to
 * @property {Reaction[]} reactions
 * @property {Mentions} [mentions]
 * @property {string | null} [thread_root]  set on a reply in a thread: its root's id
 * @property {boolean} [also_to_room]  a thread reply shown in the main timeline too
 * @property {ThreadSummary | null} [thread]
 * @property {string | null} [pinned_at]
 * @property {Attachment[]} [attachments]  files shared with it (#15)
 * @property {Card[]} [cards]  an integration's attachments (#19; views/cards.js)
 */

/**
 * @typedef {object} CardField
 * @property {string} title
 * @property {string} value  Markdown
 * @property {boolean} [short]  may share a row with another short one
 */

/**
 * A card (#19): a Slack attachment as the server keeps it. Texts are the Markdown subset;
 * `color` and `title_link` are checked again before use (cards.js).
 * @typedef {object} Card
 * @property {string} [fallback]
 * @property {string} [color]
 * @property {string} [pretext]
 * @property {string} [title]
 * @property {string} [title_link]
 * @property {string} [text]
 * @property {CardField[]} [fields]
 * @property {string} [footer]
 * @property {number | null} [ts]  Unix seconds
 */

/**
 * A file a message carries (#15). `url` and `thumbnail_url` are signed links that expire.
 * @typedef {object} Attachment
 * @property {string} id
 * @property {string} filename
 * @property {string} content_type
 * @property {number} size
 * @property {number | null} [width]  images only
 * @property {number | null} [height]
 * @property {string} url
 * @property {string | null} [thumbnail_url]  images only
 */

/**
 * A message as held: with when its last snapshot was taken and the newest reaction event
 * applied to it (ms; -Infinity for never).
 * @typedef {Message & {_snapAt: number, _evAt: number}} HeldMessage
 */

/**
 * A room I am in (the API sends `my_role`, `last_read_seq` and `unread_count` to members).
 * @typedef {object} Room
 * @property {string} id
 * @property {string} name
 * @property {string | null} topic
 * @property {"public" | "private"} visibility
 * @property {"room" | "dm"} kind
 * @property {number} member_count
 * @property {number} last_seq
 * @property {"owner" | "admin" | "member" | null} [my_role]
 * @property {number} last_read_seq
 * @property {number} unread_count
 * @property {number} [mention_count]  unread messages that mention me (#17)
 * @property {boolean} [members_can_pin]
 * @property {"all" | "mentions" | "none"} [notification_level]  what notifies me here (#18)
 * @property {string | null} [notifications_muted_until]  nothing notifies me here before then (#18)
 * @property {string | null} [avatar_url]  the room's picture (#19 web client)
 */

/**
 * @typedef {object} Member
 * @property {User} user
 * @property {"owner" | "admin" | "member"} role
 * @property {string} joined_at
 * @property {boolean} [muted]  reads the room but may not write in it
 */

/**
 * @typedef {object} Ban
 * @property {User} user
 * @property {string} reason
 * @property {string} banned_at
 */

/**
 * One of my signed-in sessions (GET /me/sessions).
 * @typedef {object} SessionInfo
 * @property {string} id
 * @property {string} created_at
 * @property {string} last_used_at
 * @property {string | null} user_agent
 * @property {boolean} current  this page's
 */

/**
 * Something that happened to me that the page must say (not just show by its absence).
 * @typedef {object} Notice
 * @property {"removed" | "banned"} kind
 * @property {string} roomId
 * @property {string} text
 */

/**
 * One event from the stream. Durable events carry their cursor in `id`; ephemeral ones
 * (typing, presence) have none. `data`'s shape depends on `type`.
 * @typedef {object} StreamEvent
 * @property {string | null} [id]
 * @property {string} type
 * @property {string | null} [room_id]
 * @property {string} [ts]
 * @property {any} [data]
 */

export {};
