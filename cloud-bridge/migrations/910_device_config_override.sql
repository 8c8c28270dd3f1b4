-- The config override the operators have set for each box, accumulated field by field. Every `config` command
-- carries the whole of it, so the newest command is the whole truth (SPEC §8.1: commands may arrive out of order
-- and a box applies only the newest of each type), and it can be sent again after a box loses its state file.
ALTER TABLE devices ADD COLUMN config_override jsonb NOT NULL DEFAULT '{}'::jsonb;
