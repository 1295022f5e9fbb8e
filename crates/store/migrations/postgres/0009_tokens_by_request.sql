-- Issuing an execution token and cancelling an expired approval look up
-- the tokens of one request; without this they read every token ever issued.
CREATE INDEX execution_tokens_by_request ON execution_tokens (request_id);
