import { afterEach, describe, expect, it, vi } from "vitest";
import { device, FakeIpc } from "../src/demo/fake-ipc";
import { all, flush, get, mount, text, type, unmountAll, byTestId } from "./helpers";

afterEach(() => {
  unmountAll();
  vi.useRealTimers();
});

function signedOut(over: ConstructorParameters<typeof FakeIpc>[0] = {}): FakeIpc {
  return new FakeIpc({
    state: {
      signed_in: false,
      server_url: "https://sessions.example.com",
      email: "ada@example.com",
      default_device_name: "ada-thinkpad",
    },
    devices: [device("other", "Work laptop")],
    ...over,
  });
}

async function submit(password = "correct horse"): Promise<void> {
  type(get<HTMLInputElement>("password"), password);
  get<HTMLButtonElement>("sign-in-submit").click();
  await flush();
}

describe("sign-in screen", () => {
  it("prefills the remembered server, email and the default device name", async () => {
    await mount(signedOut());
    expect(get<HTMLInputElement>("server-url").value).toBe("https://sessions.example.com");
    expect(get<HTMLInputElement>("email").value).toBe("ada@example.com");
    expect(get<HTMLInputElement>("password").value).toBe("");
    expect(get<HTMLInputElement>("device-name").value).toBe("ada-thinkpad");
    expect(get<HTMLInputElement>("password").type).toBe("password");
    expect(byTestId("device-list")).toBeNull();
    // Every field has a visible label.
    for (const id of ["server-url", "email", "password", "device-name"]) {
      const input = get<HTMLInputElement>(id);
      expect(document.querySelector(`label[for="${input.id}"]`)).not.toBeNull();
    }
  });

  it("signs in with what was entered and shows the devices", async () => {
    const ipc = signedOut();
    await mount(ipc);
    type(get<HTMLInputElement>("device-name"), "  My laptop ");
    await submit();
    expect(ipc.calls.find((c) => c.command === "signIn")?.args).toEqual({
      serverUrl: "https://sessions.example.com",
      email: "ada@example.com",
      password: "correct horse",
      deviceName: "My laptop",
    });
    expect(byTestId("sign-in-submit")).toBeNull();
    const rows = all("device-row");
    expect(rows.map((r) => text(get("device-name", r)))).toEqual(["My laptop", "Work laptop"]);
    expect(rows[0]!.dataset.current).toBe("true");
  });

  it("shows a busy button while signing in", async () => {
    const ipc = signedOut().hold("signIn");
    await mount(ipc);
    await submit();
    const button = get<HTMLButtonElement>("sign-in-submit");
    expect(button.disabled).toBe(true);
    expect(button.getAttribute("aria-busy")).toBe("true");
    expect(text(button)).toBe("Signing in…");
    // A second submit while busy does nothing.
    button.click();
    await flush();
    expect(ipc.count("signIn")).toBe(1);
    ipc.release("signIn");
    await flush();
    expect(byTestId("device-list")).not.toBeNull();
  });

  it("shows wrong password inline and stays on the form", async () => {
    const ipc = signedOut();
    await mount(ipc);
    await submit("wrong");
    const error = get("sign-in-error");
    expect(text(error)).toBe("Wrong email or password.");
    expect(error.getAttribute("role")).toBe("alert");
    expect(get<HTMLInputElement>("password").getAttribute("aria-invalid")).toBe("true");
    const button = get<HTMLButtonElement>("sign-in-submit");
    expect(button.disabled).toBe(false);
    expect(button.getAttribute("aria-busy")).toBeNull();
    // The error goes when the next attempt succeeds.
    await submit("correct horse");
    expect(byTestId("sign-in-error")).toBeNull();
  });

  it("says when the server cannot be reached, naming it", async () => {
    const ipc = signedOut().failNext("signIn", { code: "server_unreachable", message: "connection refused" });
    await mount(ipc);
    await submit();
    expect(text(get("sign-in-error"))).toBe(
      "Can't reach the server at https://sessions.example.com. Check the address and your connection.",
    );
    expect(document.activeElement).toBe(get("server-url"));
  });

  it("counts down a rate limit and blocks the button until it ends", async () => {
    vi.useFakeTimers();
    const ipc = signedOut().failNext("signIn", { code: "rate_limited", message: "", retry_after_secs: 42 });
    await mount(ipc);
    await submit();
    const button = get<HTMLButtonElement>("sign-in-submit");
    expect(text(get("sign-in-error"))).toBe("Too many attempts. Try again in 42 s");
    expect(button.disabled).toBe(true);
    vi.advanceTimersByTime(1000);
    expect(text(get("sign-in-error"))).toBe("Too many attempts. Try again in 41 s");
    vi.advanceTimersByTime(30_000);
    expect(text(get("sign-in-error"))).toBe("Too many attempts. Try again in 11 s");
    button.click();
    await flush();
    expect(ipc.count("signIn")).toBe(1);
    vi.advanceTimersByTime(11_000);
    expect(text(get("sign-in-error"))).toBe("");
    expect(button.disabled).toBe(false);
    button.click();
    await flush();
    expect(ipc.count("signIn")).toBe(2);
  });

  it("validates the form before calling the backend", async () => {
    const ipc = signedOut();
    await mount(ipc);
    type(get<HTMLInputElement>("server-url"), "");
    await submit();
    expect(text(get("sign-in-error"))).toBe("Enter the address of your session server.");
    type(get<HTMLInputElement>("server-url"), "ftp://x");
    await submit();
    expect(text(get("sign-in-error"))).toMatch(/^Enter a server address like/);
    type(get<HTMLInputElement>("server-url"), "sessions.example.org");
    type(get<HTMLInputElement>("email"), "not-an-email");
    await submit();
    expect(text(get("sign-in-error"))).toBe("Enter a valid email address.");
    expect(document.activeElement).toBe(get("email"));
    type(get<HTMLInputElement>("email"), "ada@example.com");
    await submit("");
    expect(text(get("sign-in-error"))).toBe("Enter your password.");
    expect(ipc.count("signIn")).toBe(0);
    // A bare host name gets https:// added.
    await submit("correct horse");
    expect((ipc.calls.find((c) => c.command === "signIn")?.args as { serverUrl: string }).serverUrl).toBe(
      "https://sessions.example.org",
    );
  });

  it("maps keychain errors to plain words", async () => {
    const ipc = signedOut().failNext("signIn", { code: "keychain_locked", message: "locked" });
    await mount(ipc);
    await submit();
    expect(text(get("sign-in-error"))).toBe("The system keychain is locked. Unlock it and try again.");
  });
});
