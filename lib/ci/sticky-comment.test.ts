import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { MARKER, targetFromEnvironment, upsertComment } from "./sticky-comment";

/**
 * A stand-in for the two comment APIs (GitHub issue comments, GitLab merge-request notes) on
 * loopback, keeping what it is sent: the real ones are not reachable from here.
 */
function fakeApi(): Promise<{ server: Server; url: string; comments: Array<{ id: number; body: string }>; calls: string[] }> {
  const comments: Array<{ id: number; body: string }> = [{ id: 1, body: "a reviewer's comment" }];
  const calls: string[] = [];
  const server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => (body += chunk.toString()));
    request.on("end", () => {
      calls.push(`${request.method} ${request.url!.split("?")[0]}`);
      const edit = /\/(?:issues\/comments|notes)\/(\d+)$/.exec(request.url!);
      if (request.method === "GET") {
        response.end(JSON.stringify(comments));
        return;
      }
      const text = (JSON.parse(body) as { body: string }).body;
      if (edit) comments.find((comment) => comment.id === Number(edit[1]))!.body = text;
      else comments.push({ id: comments.length + 1, body: text });
      response.end("{}");
    });
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, comments, calls }),
    ),
  );
}

describe("sticky plan-summary comment", () => {
  it.each([
    [
      "github",
      (url: string) => ({ GITHUB_API_URL: url, GITHUB_REPOSITORY: "team/infra", PR_NUMBER: "7", GITHUB_TOKEN: "t" }),
      ["POST /repos/team/infra/issues/7/comments", "PATCH /repos/team/infra/issues/comments/2"],
    ],
    [
      "gitlab",
      (url: string) => ({ CI_API_V4_URL: url, CI_PROJECT_ID: "12", CI_MERGE_REQUEST_IID: "7", GITLAB_TOKEN: "t" }),
      ["POST /projects/12/merge_requests/7/notes", "PUT /projects/12/merge_requests/7/notes/2"],
    ],
  ])("%s: creates one comment, then edits it in place", async (_kind, environment, writes) => {
    const api = await fakeApi();
    try {
      const target = targetFromEnvironment(environment(api.url))!;
      expect(await upsertComment(target, "first summary")).toBe("created");
      expect(await upsertComment(target, "second summary")).toBe("updated");
      expect(api.comments).toEqual([
        { id: 1, body: "a reviewer's comment" },
        { id: 2, body: `${MARKER}\nsecond summary` },
      ]);
      expect(api.calls.filter((call) => !call.startsWith("GET"))).toEqual(writes);
    } finally {
      api.server.close();
    }
  });

  it("prints instead of posting when no pull-request API is configured", () => {
    expect(targetFromEnvironment({})).toBeUndefined();
  });
});
