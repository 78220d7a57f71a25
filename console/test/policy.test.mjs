// The tool-policy editor's state (src/policy.ts): the drafts it starts from, the servers map
// it saves, and where the API's errors land.
import assert from "node:assert/strict";
import { test } from "node:test";
import { draftOf, placeErrors, policyOf, renameField, updateServer, updateTool, usualName } from "./policy.js";

const calc = {
  slug: "calc",
  name: "Calc",
  description: "",
  icon: "",
  url: "",
  tools: [
    { name: "plus", tool: "add", description: "", hash: "h1", flags: [] },
    { name: "calc__mul", tool: "mul", description: "", hash: "h2", flags: [] },
  ],
  withheldTools: [
    { name: "div", reason: "not_allowed" },
    { name: "add", reason: "pending_approval", hash: "h3" }, // also served: listed once
  ],
};
const web = { slug: "web", name: "Web", description: "", icon: "", url: "" }; // never probed

test("draftOf lists what each server offers, served or withheld, then what only the policy names", () => {
  const d = draftOf({ calc: { allow: ["add", "mul", "gone"], rename: { add: "plus", old: "x" } } }, [calc, web]);
  assert.deepEqual(d, [
    {
      slug: "calc",
      name: "Calc",
      only: true,
      tools: [
        { tool: "add", allowed: true, rename: "plus", offered: true },
        { tool: "div", allowed: false, rename: "", offered: true },
        { tool: "mul", allowed: true, rename: "", offered: true },
        { tool: "gone", allowed: true, rename: "", offered: false },
        { tool: "old", allowed: false, rename: "x", offered: false },
      ],
    },
    { slug: "web", name: "Web", only: false, tools: [] },
  ]);
});

test("without an allow-list every tool is allowed, and the policy saved back is the one read", () => {
  const d = draftOf(undefined, [calc]);
  assert.equal(d[0].only, false);
  assert.ok(d[0].tools.every((t) => t.allowed && t.rename === ""));
  assert.deepEqual(policyOf(d), {});
  const stored = { calc: { allow: ["add"], rename: { add: "plus" } } };
  assert.deepEqual(policyOf(draftOf(stored, [calc, web])), stored);
});

test("policyOf: a subset is the checked tools; an unchecked tool's new name is not sent; an empty subset is no tool", () => {
  const start = draftOf(undefined, [calc, web]);
  let d = updateServer(start, "calc", (s) => s);
  d = updateServer(d, "calc", (s) => ({ ...s, only: true }));
  d = updateServer(d, "calc", (s) => updateTool(s, "div", (t) => ({ ...t, allowed: false })));
  d = updateServer(d, "calc", (s) => updateTool(s, "mul", (t) => ({ ...t, allowed: false, rename: "times" })));
  d = updateServer(d, "calc", (s) => updateTool(s, "add", (t) => ({ ...t, rename: "plus" })));
  assert.deepEqual(policyOf(d), { calc: { allow: ["add"], rename: { add: "plus" } } });
  // Back to every tool: the unchecked tool's new name counts again.
  d = updateServer(d, "calc", (s) => ({ ...s, only: false }));
  assert.deepEqual(policyOf(d), { calc: { rename: { add: "plus", mul: "times" } } });
  d = updateServer(d, "calc", (s) => ({ ...s, only: true, tools: s.tools.map((t) => ({ ...t, allowed: false })) }));
  assert.deepEqual(policyOf(d), { calc: { allow: [] } });
  assert.equal(d[1], start[1], "the other server's draft is left as it was");
});

test("placeErrors puts the API's details at the fields they name, the rest aside", () => {
  const d = draftOf({ calc: { allow: ["add"] } }, [calc, web]);
  const e = placeErrors(
    [
      { field: "gateway.servers.calc.rename.add", message: '"plus" is already the new name of gateway.servers.web.rename.x' },
      { field: "gateway.servers.calc.allow.0", message: "a tool name is 1 to 256 characters" },
      { field: "gateway.servers.web", message: 'MCP server "web" is not attached to the agent' },
      { field: "gateway.servers.gone.rename.a", message: "elsewhere" },
      { field: "gateway.pinning", message: "unknown pinning" },
    ],
    d,
  );
  assert.deepEqual(e.at, {
    [renameField("calc", "add")]: '"plus" is already the new name of gateway.servers.web.rename.x',
    "gateway.servers.calc.allow": "a tool name is 1 to 256 characters",
    "gateway.servers.web": 'MCP server "web" is not attached to the agent',
  });
  assert.deepEqual(e.other, ["gateway.servers.gone.rename.a: elsewhere", "gateway.pinning: unknown pinning"]);
});

test("a tool name with dots is one field", () => {
  const d = draftOf({ calc: { rename: { "a.b": "ab" } } }, [calc]);
  const e = placeErrors([{ field: "gateway.servers.calc.rename.a.b", message: "bad" }], d);
  assert.deepEqual(e.at, { "gateway.servers.calc.rename.a.b": "bad" });
});

test("usualName follows the agent's toolNames", () => {
  assert.equal(usualName("prefixed", "calc", "add"), "calc__add");
  assert.equal(usualName("original", "calc", "add"), "add");
});
