import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { TesseraApiError } from "@tessera/client";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";
import "./styles.css";

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      // A refusal or a missing thing does not get better by asking again.
      retry: (failures, error) =>
        !(error instanceof TesseraApiError && error.status >= 400 && error.status < 500) &&
        failures < 2,
      staleTime: 10_000,
      refetchOnWindowFocus: false,
    },
    mutations: { retry: false },
  },
});

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <App />
    </QueryClientProvider>
  </StrictMode>,
);
