// A handler behind the policy that upgrades `/socket` to a WebSocket echoing what it receives:
// the 101 must pass through withCors unchanged.
import { Policy, withCors } from 'corsguard';
import policyText from './policy.json' with { type: 'text' };

function echo(request: Request): Response {
  const { socket, response } = Deno.upgradeWebSocket(request);
  socket.onmessage = (message) => socket.send(message.data);
  return response;
}

export default { fetch: withCors(Policy.parse(policyText), echo) } satisfies Deno.ServeDefaultExport;
