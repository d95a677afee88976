"""CSV download of any report (`?format=csv`): the report's columns as the header, its rows, then a totals row."""

import csv
import io

from rest_framework.renderers import BaseRenderer


class ReportCSVRenderer(BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        buffer = io.StringIO()
        # A BOM so that Excel, which most Japanese accountants open CSVs with, reads UTF-8.
        buffer.write("\ufeff")
        writer = csv.writer(buffer)
        if not isinstance(data, dict) or "rows" not in data:
            error = (data or {}).get("error", {}) if isinstance(data, dict) else {}
            writer.writerow(["error", error.get("code", ""), error.get("message", "")])
            return buffer.getvalue().encode(self.charset)
        keys = [column["key"] for column in data["columns"]]
        writer.writerow([column["label"] for column in data["columns"]])
        for row in data["rows"]:
            writer.writerow([row.get(key, "") for key in keys])
        totals = data.get("totals") or {}
        if totals and any(key in totals for key in keys):
            writer.writerow([totals.get(key, "合計" if index == 0 else "") for index, key in enumerate(keys)])
        return buffer.getvalue().encode(self.charset)
