-- Which engine paces a campaign on a PBX (docs/dialer.md, "Nodes"): one per campaign and PBX,
-- through a lease the holder renews; another engine of that PBX takes it once it lapsed.
-- Engines on other PBXs hold leases of their own for the same campaign and pace their own
-- agents; the contacts stay shared through the claim.
CREATE TABLE campaign_pacers (
    campaign_id integer NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    pbx text NOT NULL,
    instance_id text NOT NULL,
    lease_until timestamptz NOT NULL,
    PRIMARY KEY (campaign_id, pbx)
);

-- The PBX an attempt's call went through: a dead engine's open attempts are taken over only by
-- an engine of that PBX, the one whose channels can tell their fate. NULL (attempts from before):
-- any engine's.
ALTER TABLE contact_history ADD COLUMN pbx text;
