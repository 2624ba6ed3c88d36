// Preloaded before a Supabase Edge Function: its `Deno.serve(handler)` listens on 127.0.0.1 and the
// port the test chose (PORT), as Supabase's edge runtime chooses one for it.
const serve = Deno.serve;
Deno.serve = ((handler: Deno.ServeHandler) =>
  serve({ hostname: '127.0.0.1', port: Number(Deno.env.get('PORT')) }, handler)) as typeof Deno.serve;
