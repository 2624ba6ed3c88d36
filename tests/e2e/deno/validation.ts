// Parses each policy of tests/vectors/validation.json (given as JSON lines of text on stdin) under
// Deno and prints, for each, a JSON line: the PolicyError's message, or the warnings of a loaded policy.
import { Policy, PolicyError } from 'corsguard';

const input = await new Response(Deno.stdin.readable).text();
for (const line of input.split('\n').filter(Boolean)) {
  try {
    const policy = Policy.parse(JSON.parse(line));
    console.log(JSON.stringify({ loaded: true, problems: policy.warnings }));
  } catch (error) {
    if (!(error instanceof PolicyError)) throw error;
    console.log(JSON.stringify({ loaded: false, message: error.message, problems: error.problems }));
  }
}
