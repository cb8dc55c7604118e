// Entry point of the account page (`/account` on the session server): the desktop app's
// views and logic, over the server's account-page API instead of Tauri.
import "../styles.css";
import { App } from "../app";
import { createHttpIpc } from "./http-ipc";

const root = document.getElementById("app");
if (root) {
  void new App(root, { ipc: createHttpIpc(), host: "web" }).start();
}
