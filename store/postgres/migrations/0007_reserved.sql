-- Reserved: this number belongs to a migration of work in flight (MCP server credentials,
-- issue 13, and the MCP gateway), merged separately. It exists only so that 0010 follows
-- without a gap; the merge replaces this file with the real migration.
SELECT 1;
