// The benchmark's origin: answers at once, with CORS headers of its own for the edges to replace.
export default {
  fetch() {
    return new Response("upstream", {
      headers: {
        "access-control-allow-origin": "https://upstream.invalid",
        "access-control-allow-credentials": "true",
        vary: "Accept-Encoding",
        "x-upstream": "1",
      },
    });
  },
};
