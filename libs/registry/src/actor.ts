import { hostname, userInfo } from 'node:os';

/** `$USER@hostname`, who a change is attributed to unless the caller says. */
export function defaultActor(): string {
  let user = process.env.USER ?? process.env.USERNAME;
  if (!user) {
    try {
      user = userInfo().username;
    } catch {
      // No passwd entry (some containers): an anonymous user is still attributable by host.
      user = 'unknown';
    }
  }
  return `${user}@${hostname()}`;
}
