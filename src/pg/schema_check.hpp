// The library and the schema in the database must be of one version: the
// library writes the columns of its own version. Checked at first use in each
// backend (again if llmtrace.spans is re-created), with a clear error when the
// database still has another version of the extension.
#pragma once

namespace llmtrace::pg {

void check_schema();

}  // namespace llmtrace::pg
