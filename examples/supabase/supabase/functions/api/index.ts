// corsguard in a Supabase Edge Function: the policy answers preflights and puts its headers on
// the function's answers, in place of hand-written OPTIONS handling.
import { Policy, withCors } from 'corsguard';
import policyFile from '../../../policy.json' with { type: 'json' };

const policy = Policy.parse(policyFile);

Deno.serve(withCors(policy, async (request: Request) => {
  const { name } = request.method === 'POST' ? await request.json() : { name: 'world' };
  return Response.json({ message: `Hello ${name}!` });
}));
