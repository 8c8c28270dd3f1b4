-- A card provider's charge reference is unique within its tenant, no longer across all tenants: the webhook
-- names the tenant itself (the charge's metadata, `reference` = "<tenant>:<payment>", which providers echo in
-- every event), so nothing looks a payment up by provider_ref alone. The last unique index that did not start
-- with tenant_id goes, and online_payments can be distributed by tenant like every other table.
ALTER TABLE online_payments DROP CONSTRAINT IF EXISTS online_payments_provider_ref_key;
ALTER TABLE online_payments ADD CONSTRAINT online_payments_provider_ref_once UNIQUE (tenant_id, provider_ref);
