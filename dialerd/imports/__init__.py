"""The import from Excel (.xlsx, .xls, .ods, .csv) into a campaign: reading files, cells,
column mappings, the preview, the background job and its refused rows. No HTTP here: the
console sends what these answer. The rows go through the calltask import (dialerd.calltasks)."""
