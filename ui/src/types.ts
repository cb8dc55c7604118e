// The IPC contract of docs/app-ipc.md, as TypeScript types. Keep the two in step.

export interface Device {
  name: string;
  platform: string;
  os_version: string;
  app_version: string;
}

/** One signed-in device (a session). Times are RFC 3339. */
export interface SessionInfo {
  id: string;
  device: Device;
  created_at: string;
  last_seen_at: string;
  last_ip: string | null;
  current: boolean;
}

export type ActivityKind =
  | "signed_in"
  | "refreshed"
  | "renamed"
  | "revoked"
  | "signed_out_everywhere"
  | "refresh_token_reuse";

/** Why a session ended (`RevocationReason` of crates/proto). */
export type RevocationReason =
  | "logout"
  | "revoked"
  | "revoked_others"
  | "signed_out_everywhere"
  | "refresh_token_reuse"
  | "admin";

export interface ActivityEvent {
  at: string;
  kind: ActivityKind;
  session_id: string | null;
  device: Device | null;
  ip: string | null;
  by_session_id: string | null;
  reason?: RevocationReason | string | null;
}

export type ErrorCode =
  | "invalid_credentials"
  | "server_unreachable"
  | "rate_limited"
  | "keychain_unavailable"
  | "keychain_locked"
  | "not_signed_in"
  | "session_revoked"
  | "not_found"
  | "validation_failed"
  | "server_error";

/** What every command rejects with. `code` may be one this UI does not know yet. */
export interface AppError {
  code: ErrorCode | (string & {});
  message: string;
  retry_after_secs?: number;
}

export interface SignedOutNotice {
  by_session_id: string | null;
  by_device_name: string | null;
  reason: RevocationReason | string;
  at: string;
}

export interface KeychainStatus {
  backend: string;
  available: boolean;
  message: string | null;
}

export interface AppState {
  signed_in: boolean;
  server_url: string | null;
  email: string | null;
  session_id: string | null;
  default_device_name: string;
  keychain: KeychainStatus;
  pending_revocations: number;
  online: boolean;
  signed_out_notice: SignedOutNotice | null;
}

export interface SignInArgs {
  serverUrl: string;
  email: string;
  password: string;
  deviceName: string;
}

export interface SecurityAlert {
  kind: string;
  message: string;
  at: string;
  session_id: string | null;
}

export interface DevicesChanged {
  reason: "session.created" | "session.revoked" | "session.renamed" | "security.alert" | (string & {});
}

/** Events the Rust side emits, by name, with their payloads. */
export interface EventMap {
  "devices-changed": DevicesChanged;
  "security-alert": SecurityAlert;
  "signed-out": SignedOutNotice;
  "state-changed": AppState;
}

export type EventName = keyof EventMap;

/** The screens whose first paint is reported to the backend (`first_paint`). */
export type Screen = "sign-in" | "devices";
