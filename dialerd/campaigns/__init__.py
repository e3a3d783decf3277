"""Campaigns: the settings model and record (schema), their rules (service) and the
``dialerd campaign`` command (cli). The HTTP endpoints are in ``dialerd.api.campaigns``."""
