"""The statements that make a new store at schema ``SNAPSHOT_VERSION`` (``schema_snapshot``).

Written by scripts/gen_schema_snapshot.py from a store the migrations made: do not edit.
"""

SNAPSHOT_VERSION = 16

STATEMENTS: tuple[str, ...] = (
    'CREATE TABLE "spans" (\n   "trace_id" TEXT NOT NULL,\n   "span_id" TEXT NOT NULL,\n   "parent_span_id" TEXT,\n   "name" TEXT NOT NULL,\n   "kind" TEXT,\n   "start_ns" INTEGER NOT NULL,\n   "end_ns" INTEGER,\n   "status_code" TEXT,\n   "status_message" TEXT,\n   "operation" TEXT,\n   "agent_name" TEXT,\n   "model" TEXT,\n   "tool_name" TEXT,\n   "input_tokens" INTEGER,\n   "output_tokens" INTEGER,\n   "service_name" TEXT,\n   "scope_name" TEXT,\n   "scope_version" TEXT,\n   "resource" TEXT, extra TEXT, span BLOB,\n   PRIMARY KEY ("trace_id", "span_id")\n)',
    'CREATE TABLE "traces" (\n   "trace_id" TEXT PRIMARY KEY,\n   "root_name" TEXT,\n   "agent_name" TEXT,\n   "service_name" TEXT,\n   "start_ns" INTEGER,\n   "end_ns" INTEGER,\n   "span_count" INTEGER,\n   "error_count" INTEGER,\n   "running_count" INTEGER,\n   "input_tokens" INTEGER,\n   "output_tokens" INTEGER\n, conversation_id TEXT, agents TEXT, models TEXT, tools TEXT, pinned_ns INTEGER, text_seq INTEGER)',
    'CREATE INDEX "traces_by_start"\n    ON "traces" ("start_ns")',
    'CREATE TABLE "logs" (\n   "id" INTEGER PRIMARY KEY,\n   "fingerprint" INTEGER NOT NULL,\n   "time_ns" INTEGER NOT NULL,\n   "observed_time_ns" INTEGER,\n   "severity_number" INTEGER,\n   "severity_text" TEXT,\n   "body" TEXT,\n   "trace_id" TEXT,\n   "span_id" TEXT,\n   "event_name" TEXT,\n   "scope_name" TEXT,\n   "service_name" TEXT,\n   "attributes" TEXT,\n   "resource" TEXT\n)',
    'CREATE UNIQUE INDEX "logs_by_fingerprint"\n    ON "logs" ("fingerprint")',
    'CREATE INDEX "logs_by_span"\n    ON "logs" ("trace_id", "span_id")',
    "CREATE VIRTUAL TABLE logs_fts USING fts5(body, extra, content='', tokenize='unicode61')",
    "CREATE VIRTUAL TABLE logs_fts_vocab USING fts5vocab(logs_fts, 'row')",
    "CREATE TRIGGER logs_fts_delete AFTER DELETE ON logs BEGIN\n            INSERT INTO logs_fts(logs_fts, rowid, body, extra)\n                VALUES ('delete', old.id, replace(replace(replace(coalesce(old.body, ''), '\\n', ' '), '\\t', ' '), '\\r', ' '), coalesce(old.event_name, '') || ' ' || replace(replace(replace(coalesce(old.attributes, ''), '\\n', ' '), '\\t', ' '), '\\r', ' '));\n        END",
    "CREATE TRIGGER logs_fts_update AFTER UPDATE OF body, attributes, event_name ON logs\n        WHEN old.id <= (SELECT coalesce(max(id), 0) FROM logs_fts_docsize) BEGIN\n            INSERT INTO logs_fts(logs_fts, rowid, body, extra)\n                VALUES ('delete', old.id, replace(replace(replace(coalesce(old.body, ''), '\\n', ' '), '\\t', ' '), '\\r', ' '), coalesce(old.event_name, '') || ' ' || replace(replace(replace(coalesce(old.attributes, ''), '\\n', ' '), '\\t', ' '), '\\r', ' '));\n            INSERT INTO logs_fts(rowid, body, extra) VALUES (new.id, replace(replace(replace(coalesce(new.body, ''), '\\n', ' '), '\\t', ' '), '\\r', ' '), coalesce(new.event_name, '') || ' ' || replace(replace(replace(coalesce(new.attributes, ''), '\\n', ' '), '\\t', ' '), '\\r', ' '));\n        END",
    'CREATE INDEX logs_by_time ON logs(time_ns, id, severity_number)',
    'CREATE INDEX logs_by_level ON logs(severity_number)',
    'CREATE INDEX logs_by_scope ON logs(scope_name, time_ns, id, severity_number)',
    'CREATE INDEX logs_by_service ON logs(service_name, time_ns, id, severity_number)',
    'CREATE INDEX traces_by_conversation ON traces(conversation_id, start_ns)',
    'CREATE INDEX traces_by_pin ON traces(pinned_ns) WHERE pinned_ns IS NOT NULL',
    'CREATE TABLE text_queue (id INTEGER PRIMARY KEY, trace_id TEXT NOT NULL, span_id TEXT NOT NULL)',
    'CREATE UNIQUE INDEX traces_by_text_seq ON traces(text_seq)',
    'CREATE TABLE trace_texts (\n            id INTEGER PRIMARY KEY,\n            trace_id TEXT NOT NULL,\n            span_id TEXT NOT NULL,\n            digest INTEGER NOT NULL,\n            logs_upto INTEGER NOT NULL,\n            UNIQUE (trace_id, span_id))',
    'CREATE TABLE compaction (upto INTEGER NOT NULL, dict_tried_at INTEGER NOT NULL DEFAULT 0)',
    'CREATE INDEX spans_roots ON spans(trace_id, status_code) WHERE parent_span_id IS NULL',
    "CREATE INDEX spans_workflows ON spans(trace_id) WHERE operation = 'invoke_workflow'",
    'CREATE INDEX traces_by_agents ON traces(agents)',
    'CREATE INDEX traces_by_root_name ON traces(root_name)',
    'CREATE INDEX traces_by_models ON traces(models)',
    "CREATE VIRTUAL TABLE logs_trigram USING fts5(message, content='', tokenize='trigram', detail='none', columnsize=0)",
    "CREATE TRIGGER logs_trigram_delete BEFORE DELETE ON logs\n        WHEN old.id <= (SELECT coalesce(max(id), 0) FROM logs_fts_docsize) BEGIN\n            INSERT INTO logs_trigram(logs_trigram, rowid, message)\n                VALUES ('delete', old.id, coalesce(old.body, ''));\n        END",
    "CREATE TRIGGER logs_trigram_update AFTER UPDATE OF body ON logs\n        WHEN old.id <= (SELECT coalesce(max(id), 0) FROM logs_fts_docsize) BEGIN\n            INSERT INTO logs_trigram(logs_trigram, rowid, message)\n                VALUES ('delete', old.id, coalesce(old.body, ''));\n            INSERT INTO logs_trigram(rowid, message) VALUES (new.id, coalesce(new.body, ''));\n        END",
    'CREATE TABLE span_dicts (id INTEGER PRIMARY KEY, dict BLOB NOT NULL)',
    'CREATE TABLE logs_late (id INTEGER PRIMARY KEY, time_ns INTEGER NOT NULL)',
    'CREATE INDEX logs_late_by_time ON logs_late(time_ns, id)',
    'CREATE TRIGGER logs_late_delete AFTER DELETE ON logs BEGIN\n        DELETE FROM logs_late WHERE id = old.id;\n    END',
    'CREATE INDEX traces_by_duration ON traces(CASE WHEN running_count = 0 THEN end_ns - start_ns END, start_ns)',
    'CREATE INDEX traces_by_tokens ON traces(coalesce(input_tokens, 0) + coalesce(output_tokens, 0), start_ns)',
    'CREATE INDEX traces_by_erred ON traces(error_count > 0, start_ns)',
    "CREATE VIRTUAL TABLE trace_texts_fts USING fts5(text, content='', tokenize='unicode61')",
    'CREATE TABLE trace_refresh_due (trace_id TEXT PRIMARY KEY) WITHOUT ROWID',
    'INSERT INTO "compaction" VALUES (0, 0)',
)
