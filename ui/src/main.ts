// Entry point of the desktop app's web view.
import "./styles.css";
import { App } from "./app";
import { createTauriIpc } from "./ipc";

const root = document.getElementById("app");
if (root) {
  void new App(root, { ipc: createTauriIpc() }).start();
}
