WITH visible_events AS (
  SELECT
    consumer_id,
    partner_id,
    event_id,
    type,
    occurred_at,
    received_at,
    target_event_id,
    root_event_id,
    revised,
    ref,
    occurred_date,
    amount_minor,
    due_date,
    paid_date,
    bill_kind,
    product,
    limit_minor,
    opened_date,
    balance_minor,
    days_past_due,
    on_time,
    status,
    credit_limit_minor,
    worst_days_past_due_24m,
    level,
    band
  FROM events
  WHERE
    received_at < CAST('2024-06-01 00:00:00+00:00' AS TIMESTAMP)
), retracted_ids AS (
  SELECT DISTINCT
    consumer_id,
    partner_id,
    target_event_id AS retracted_id
  FROM visible_events
  WHERE
    type = 'event.retraction'
), corrected_roots AS (
  SELECT DISTINCT
    consumer_id,
    partner_id,
    root_event_id
  FROM visible_events
  WHERE
    revised AND NOT target_event_id IS NULL AND type <> 'event.retraction'
), revised_versions AS (
  SELECT
    v.consumer_id,
    v.partner_id,
    v.event_id,
    v.type,
    v.occurred_at,
    v.received_at,
    v.target_event_id,
    v.root_event_id,
    v.revised,
    v.ref,
    v.occurred_date,
    v.amount_minor,
    v.due_date,
    v.paid_date,
    v.bill_kind,
    v.product,
    v.limit_minor,
    v.opened_date,
    v.balance_minor,
    v.days_past_due,
    v.on_time,
    v.status,
    v.credit_limit_minor,
    v.worst_days_past_due_24m,
    v.level,
    v.band,
    NOT ch.root_event_id IS NULL AS in_chain
  FROM visible_events AS v
  LEFT JOIN retracted_ids AS r1
    ON r1.consumer_id = v.consumer_id
    AND r1.partner_id = v.partner_id
    AND r1.retracted_id = v.event_id
  LEFT JOIN retracted_ids AS r2
    ON r2.consumer_id = v.consumer_id
    AND r2.partner_id = v.partner_id
    AND r2.retracted_id = v.root_event_id
  LEFT JOIN corrected_roots AS ch
    ON ch.consumer_id = v.consumer_id
    AND ch.partner_id = v.partner_id
    AND ch.root_event_id = v.root_event_id
  WHERE
    v.revised
    AND v.type <> 'event.retraction'
    AND r1.retracted_id IS NULL
    AND r2.retracted_id IS NULL
), chain_heads AS (
  SELECT
    consumer_id,
    partner_id,
    event_id,
    type,
    occurred_at,
    received_at,
    target_event_id,
    root_event_id,
    revised,
    ref,
    occurred_date,
    amount_minor,
    due_date,
    paid_date,
    bill_kind,
    product,
    limit_minor,
    opened_date,
    balance_minor,
    days_past_due,
    on_time,
    status,
    credit_limit_minor,
    worst_days_past_due_24m,
    level,
    band
  FROM (
    SELECT
      consumer_id,
      partner_id,
      event_id,
      type,
      occurred_at,
      received_at,
      target_event_id,
      root_event_id,
      revised,
      ref,
      occurred_date,
      amount_minor,
      due_date,
      paid_date,
      bill_kind,
      product,
      limit_minor,
      opened_date,
      balance_minor,
      days_past_due,
      on_time,
      status,
      credit_limit_minor,
      worst_days_past_due_24m,
      level,
      band,
      ROW_NUMBER() OVER (
        PARTITION BY consumer_id, partner_id, root_event_id
        ORDER BY received_at DESC, event_id DESC
      ) AS version_rank
    FROM revised_versions
    WHERE
      in_chain
  ) AS chains
  WHERE
    version_rank = 1
), effective_events AS (
  SELECT
    consumer_id,
    partner_id,
    event_id,
    type,
    occurred_at,
    received_at,
    target_event_id,
    root_event_id,
    revised,
    ref,
    occurred_date,
    amount_minor,
    due_date,
    paid_date,
    bill_kind,
    product,
    limit_minor,
    opened_date,
    balance_minor,
    days_past_due,
    on_time,
    status,
    credit_limit_minor,
    worst_days_past_due_24m,
    level,
    band
  FROM visible_events
  WHERE
    NOT revised
    AND type <> 'event.retraction'
    AND occurred_at < CAST('2024-06-01 00:00:00+00:00' AS TIMESTAMP)
  UNION ALL
  SELECT
    consumer_id,
    partner_id,
    event_id,
    type,
    occurred_at,
    received_at,
    target_event_id,
    root_event_id,
    revised,
    ref,
    occurred_date,
    amount_minor,
    due_date,
    paid_date,
    bill_kind,
    product,
    limit_minor,
    opened_date,
    balance_minor,
    days_past_due,
    on_time,
    status,
    credit_limit_minor,
    worst_days_past_due_24m,
    level,
    band
  FROM revised_versions
  WHERE
    NOT in_chain AND occurred_at < CAST('2024-06-01 00:00:00+00:00' AS TIMESTAMP)
  UNION ALL
  SELECT
    consumer_id,
    partner_id,
    event_id,
    type,
    occurred_at,
    received_at,
    target_event_id,
    root_event_id,
    revised,
    ref,
    occurred_date,
    amount_minor,
    due_date,
    paid_date,
    bill_kind,
    product,
    limit_minor,
    opened_date,
    balance_minor,
    days_past_due,
    on_time,
    status,
    credit_limit_minor,
    worst_days_past_due_24m,
    level,
    band
  FROM chain_heads
  WHERE
    occurred_at < CAST('2024-06-01 00:00:00+00:00' AS TIMESTAMP)
), enriched_events AS (
  SELECT
    consumer_id,
    partner_id,
    event_id,
    type,
    occurred_at,
    received_at,
    target_event_id,
    root_event_id,
    revised,
    ref,
    occurred_date,
    amount_minor,
    due_date,
    paid_date,
    bill_kind,
    product,
    limit_minor,
    opened_date,
    balance_minor,
    days_past_due,
    on_time,
    status,
    credit_limit_minor,
    worst_days_past_due_24m,
    level,
    band,
    MIN(CASE WHEN type = 'bill.issued' THEN due_date END) OVER (PARTITION BY consumer_id, partner_id, ref) AS bill_due_date,
    MIN(CASE WHEN type = 'bill.paid' THEN paid_date END) OVER (PARTITION BY consumer_id, partner_id, ref) AS bill_paid_date,
    CAST(NULL AS BIGINT) AS account_limit_minor,
    CAST(NULL AS STRING) AS account_product,
    CAST(NULL AS BOOLEAN) AS account_ended,
    CAST(NULL AS BIGINT) AS recency_rank,
    CAST(NULL AS BIGINT) AS type_recency_rank
  FROM effective_events
  WHERE
    type IN ('bill.issued', 'bill.paid')
  UNION ALL
  SELECT
    consumer_id,
    partner_id,
    event_id,
    type,
    occurred_at,
    received_at,
    target_event_id,
    root_event_id,
    revised,
    ref,
    occurred_date,
    amount_minor,
    due_date,
    paid_date,
    bill_kind,
    product,
    limit_minor,
    opened_date,
    balance_minor,
    days_past_due,
    on_time,
    status,
    credit_limit_minor,
    worst_days_past_due_24m,
    level,
    band,
    CAST(NULL AS DATE) AS bill_due_date,
    CAST(NULL AS DATE) AS bill_paid_date,
    MAX(CASE WHEN type = 'credit.opened' THEN limit_minor END) OVER (PARTITION BY consumer_id, partner_id, ref) AS account_limit_minor,
    MAX(CASE WHEN type = 'credit.opened' THEN product END) OVER (PARTITION BY consumer_id, partner_id, ref) AS account_product,
    MAX(CASE WHEN type IN ('credit.closed', 'credit.charged_off') THEN 1 ELSE 0 END) OVER (PARTITION BY consumer_id, partner_id, ref) = 1 AS account_ended,
    ROW_NUMBER() OVER (
      PARTITION BY consumer_id, partner_id, type, ref
      ORDER BY occurred_at DESC, received_at DESC, event_id DESC
    ) AS recency_rank,
    CAST(NULL AS BIGINT) AS type_recency_rank
  FROM effective_events
  WHERE
    type IN (
      'credit.opened',
      'credit.statement',
      'credit.payment',
      'credit.status',
      'credit.closed',
      'credit.charged_off'
    )
  UNION ALL
  SELECT
    consumer_id,
    partner_id,
    event_id,
    type,
    occurred_at,
    received_at,
    target_event_id,
    root_event_id,
    revised,
    ref,
    occurred_date,
    amount_minor,
    due_date,
    paid_date,
    bill_kind,
    product,
    limit_minor,
    opened_date,
    balance_minor,
    days_past_due,
    on_time,
    status,
    credit_limit_minor,
    worst_days_past_due_24m,
    level,
    band,
    CAST(NULL AS DATE) AS bill_due_date,
    CAST(NULL AS DATE) AS bill_paid_date,
    CAST(NULL AS BIGINT) AS account_limit_minor,
    CAST(NULL AS STRING) AS account_product,
    CAST(NULL AS BOOLEAN) AS account_ended,
    ROW_NUMBER() OVER (
      PARTITION BY consumer_id, partner_id, type, ref
      ORDER BY occurred_at DESC, received_at DESC, event_id DESC
    ) AS recency_rank,
    CAST(NULL AS BIGINT) AS type_recency_rank
  FROM effective_events
  WHERE
    type = 'bureau.tradeline'
  UNION ALL
  SELECT
    consumer_id,
    partner_id,
    event_id,
    type,
    occurred_at,
    received_at,
    target_event_id,
    root_event_id,
    revised,
    ref,
    occurred_date,
    amount_minor,
    due_date,
    paid_date,
    bill_kind,
    product,
    limit_minor,
    opened_date,
    balance_minor,
    days_past_due,
    on_time,
    status,
    credit_limit_minor,
    worst_days_past_due_24m,
    level,
    band,
    CAST(NULL AS DATE) AS bill_due_date,
    CAST(NULL AS DATE) AS bill_paid_date,
    CAST(NULL AS BIGINT) AS account_limit_minor,
    CAST(NULL AS STRING) AS account_product,
    CAST(NULL AS BOOLEAN) AS account_ended,
    CAST(NULL AS BIGINT) AS recency_rank,
    ROW_NUMBER() OVER (
      PARTITION BY consumer_id, type
      ORDER BY occurred_at DESC, received_at DESC, partner_id DESC, event_id DESC
    ) AS type_recency_rank
  FROM effective_events
  WHERE
    type = 'income.verified'
  UNION ALL
  SELECT
    consumer_id,
    partner_id,
    event_id,
    type,
    occurred_at,
    received_at,
    target_event_id,
    root_event_id,
    revised,
    ref,
    occurred_date,
    amount_minor,
    due_date,
    paid_date,
    bill_kind,
    product,
    limit_minor,
    opened_date,
    balance_minor,
    days_past_due,
    on_time,
    status,
    credit_limit_minor,
    worst_days_past_due_24m,
    level,
    band,
    CAST(NULL AS DATE) AS bill_due_date,
    CAST(NULL AS DATE) AS bill_paid_date,
    CAST(NULL AS BIGINT) AS account_limit_minor,
    CAST(NULL AS STRING) AS account_product,
    CAST(NULL AS BOOLEAN) AS account_ended,
    CAST(NULL AS BIGINT) AS recency_rank,
    CAST(NULL AS BIGINT) AS type_recency_rank
  FROM effective_events
  WHERE
    NOT type IN (
      'bill.issued',
      'bill.paid',
      'credit.opened',
      'credit.statement',
      'credit.payment',
      'credit.status',
      'credit.closed',
      'credit.charged_off',
      'bureau.tradeline',
      'income.verified'
    )
), features_agg AS (
  SELECT
    consumer_id,
    COUNT(*) FILTER(WHERE
      (
        (
          (
            (
              type = 'order.payment'
            ) AND (
              paid_date > due_date
            )
          )
          OR (
            (
              type = 'bill.paid'
            ) AND (
              paid_date > bill_due_date
            )
          )
          OR (
            (
              type = 'credit.status'
            ) AND (
              days_past_due >= 30
            )
          )
        )
      )
      AND (
        occurred_at >= CAST('2023-06-01 00:00:00+00:00' AS TIMESTAMP)
      )) AS late_payments_12m,
    COUNT(*) FILTER(WHERE
      (
        (
          (
            (
              type = 'order.payment'
            ) AND (
              paid_date > due_date
            )
          )
          OR (
            (
              type = 'bill.paid'
            ) AND (
              paid_date > bill_due_date
            )
          )
          OR (
            (
              type = 'credit.status'
            ) AND (
              days_past_due >= 30
            )
          )
        )
      )
      AND (
        occurred_at >= CAST('2022-06-01 00:00:00+00:00' AS TIMESTAMP)
      )) AS late_payments_24m,
    COUNT(*) FILTER(WHERE
      (
        (
          (
            (
              type = 'order.payment'
            ) AND (
              paid_date IS NULL
            )
          )
          OR (
            (
              type = 'bill.issued'
            )
            AND (
              bill_paid_date IS NULL
            )
            AND (
              due_date < CAST('2024-05-02' AS DATE)
            )
          )
        )
      )
      AND (
        occurred_at >= CAST('2023-06-01 00:00:00+00:00' AS TIMESTAMP)
      )) AS missed_payments_12m,
    GREATEST(
      COALESCE(
        MAX(days_past_due) FILTER(WHERE
          (
            type = 'credit.status'
          )
          AND (
            occurred_at >= CAST('2022-06-01 00:00:00+00:00' AS TIMESTAMP)
          )),
        0
      ),
      COALESCE(
        MAX(worst_days_past_due_24m) FILTER(WHERE
          (
            type = 'bureau.tradeline'
          )
          AND (
            recency_rank = 1
          )
          AND (
            occurred_at >= CAST('2022-06-01 00:00:00+00:00' AS TIMESTAMP)
          )),
        0
      ),
      COALESCE(
        MAX(DATEDIFF(DAY, due_date, paid_date)) FILTER(WHERE
          (
            type = 'order.payment'
          )
          AND (
            paid_date > due_date
          )
          AND (
            occurred_at >= CAST('2022-06-01 00:00:00+00:00' AS TIMESTAMP)
          )),
        0
      ),
      COALESCE(
        MAX(DATEDIFF(DAY, due_date, CAST('2024-06-01' AS DATE))) FILTER(WHERE
          (
            type = 'order.payment'
          )
          AND (
            paid_date IS NULL
          )
          AND (
            occurred_at >= CAST('2022-06-01 00:00:00+00:00' AS TIMESTAMP)
          )),
        0
      ),
      COALESCE(
        MAX(DATEDIFF(DAY, bill_due_date, paid_date)) FILTER(WHERE
          (
            type = 'bill.paid'
          )
          AND (
            paid_date > bill_due_date
          )
          AND (
            occurred_at >= CAST('2022-06-01 00:00:00+00:00' AS TIMESTAMP)
          )),
        0
      )
    ) AS worst_days_past_due_24m,
    24294 - (
      YEAR(
        MAX(occurred_date) FILTER(WHERE
          (
            (
              (
                (
                  (
                    (
                      type = 'order.payment'
                    ) AND (
                      paid_date > due_date
                    )
                  )
                  OR (
                    (
                      type = 'bill.paid'
                    ) AND (
                      paid_date > bill_due_date
                    )
                  )
                  OR (
                    (
                      type = 'credit.status'
                    ) AND (
                      days_past_due >= 30
                    )
                  )
                )
              )
              OR (
                (
                  (
                    (
                      type = 'order.payment'
                    ) AND (
                      paid_date IS NULL
                    )
                  )
                  OR (
                    (
                      type = 'bill.issued'
                    )
                    AND (
                      bill_paid_date IS NULL
                    )
                    AND (
                      due_date < CAST('2024-05-02' AS DATE)
                    )
                  )
                )
              )
              OR (
                type = 'credit.charged_off'
              )
            )
          )
          AND (
            occurred_at >= CAST('2019-06-01 00:00:00+00:00' AS TIMESTAMP)
          ))
      ) * 12 + MONTH(
        MAX(occurred_date) FILTER(WHERE
          (
            (
              (
                (
                  (
                    (
                      type = 'order.payment'
                    ) AND (
                      paid_date > due_date
                    )
                  )
                  OR (
                    (
                      type = 'bill.paid'
                    ) AND (
                      paid_date > bill_due_date
                    )
                  )
                  OR (
                    (
                      type = 'credit.status'
                    ) AND (
                      days_past_due >= 30
                    )
                  )
                )
              )
              OR (
                (
                  (
                    (
                      type = 'order.payment'
                    ) AND (
                      paid_date IS NULL
                    )
                  )
                  OR (
                    (
                      type = 'bill.issued'
                    )
                    AND (
                      bill_paid_date IS NULL
                    )
                    AND (
                      due_date < CAST('2024-05-02' AS DATE)
                    )
                  )
                )
              )
              OR (
                type = 'credit.charged_off'
              )
            )
          )
          AND (
            occurred_at >= CAST('2019-06-01 00:00:00+00:00' AS TIMESTAMP)
          ))
      )
    ) AS months_since_last_delinquency,
    COALESCE(
      MAX(days_past_due) FILTER(WHERE
        (
          type = 'credit.status'
        )
        AND (
          recency_rank = 1
        )
        AND (
          occurred_at >= CAST('2024-03-01 00:00:00+00:00' AS TIMESTAMP)
        )),
      0
    ) AS days_past_due_now,
    GREATEST(
      COALESCE(
        MAX(days_past_due) FILTER(WHERE
          (
            type = 'credit.status'
          )
          AND (
            occurred_at >= CAST('2024-03-01 00:00:00+00:00' AS TIMESTAMP)
          )),
        0
      ),
      COALESCE(
        MAX(worst_days_past_due_24m) FILTER(WHERE
          (
            type = 'bureau.tradeline'
          )
          AND (
            recency_rank = 1
          )
          AND (
            occurred_at >= CAST('2024-03-01 00:00:00+00:00' AS TIMESTAMP)
          )),
        0
      ),
      COALESCE(
        MAX(DATEDIFF(DAY, due_date, paid_date)) FILTER(WHERE
          (
            type = 'order.payment'
          )
          AND (
            paid_date > due_date
          )
          AND (
            occurred_at >= CAST('2024-03-01 00:00:00+00:00' AS TIMESTAMP)
          )),
        0
      ),
      COALESCE(
        MAX(DATEDIFF(DAY, due_date, CAST('2024-06-01' AS DATE))) FILTER(WHERE
          (
            type = 'order.payment'
          )
          AND (
            paid_date IS NULL
          )
          AND (
            occurred_at >= CAST('2024-03-01 00:00:00+00:00' AS TIMESTAMP)
          )),
        0
      ),
      COALESCE(
        MAX(DATEDIFF(DAY, bill_due_date, paid_date)) FILTER(WHERE
          (
            type = 'bill.paid'
          )
          AND (
            paid_date > bill_due_date
          )
          AND (
            occurred_at >= CAST('2024-03-01 00:00:00+00:00' AS TIMESTAMP)
          )),
        0
      )
    ) AS worst_days_past_due_3m,
    COUNT(*) FILTER(WHERE
      (
        (
          (
            (
              type = 'order.payment'
            ) AND (
              paid_date > due_date
            )
          )
          OR (
            (
              type = 'bill.paid'
            ) AND (
              paid_date > bill_due_date
            )
          )
          OR (
            (
              type = 'credit.status'
            ) AND (
              days_past_due >= 30
            )
          )
        )
      )
      AND (
        occurred_at >= CAST('2024-03-01 00:00:00+00:00' AS TIMESTAMP)
      )) AS late_payments_3m,
    COUNT(*) FILTER(WHERE
      (
        (
          (
            type = 'credit.charged_off'
          )
          OR (
            (
              type = 'bureau.tradeline'
            )
            AND (
              recency_rank = 1
            )
            AND (
              status IN ('charged_off', 'collection')
            )
          )
        )
      )
      AND (
        occurred_at >= CAST('2019-06-01 00:00:00+00:00' AS TIMESTAMP)
      )) AS derogatory_records,
    CAST(SUM(balance_minor) FILTER(WHERE
      (
        (
          type = 'credit.statement'
        )
        AND (
          recency_rank = 1
        )
        AND (
          NOT account_ended
        )
      )
      AND (
        account_product IN ('credit_card', 'revolving_line', 'bnpl_line')
      )) AS DOUBLE) / NULLIF(
      CAST(SUM(account_limit_minor) FILTER(WHERE
        (
          (
            type = 'credit.statement'
          )
          AND (
            recency_rank = 1
          )
          AND (
            NOT account_ended
          )
        )
        AND (
          account_product IN ('credit_card', 'revolving_line', 'bnpl_line')
        )) AS DOUBLE),
      0
    ) AS revolving_utilisation,
    CAST(COALESCE(
      SUM(balance_minor) FILTER(WHERE
        (
          type = 'credit.statement'
        )
        AND (
          recency_rank = 1
        )
        AND (
          NOT account_ended
        )),
      0
    ) + COALESCE(
      SUM(balance_minor) FILTER(WHERE
        (
          type = 'bureau.tradeline'
        )
        AND (
          recency_rank = 1
        )
        AND (
          status = 'open'
        )),
      0
    ) AS DOUBLE) / NULLIF(
      CAST(COALESCE(
        SUM(account_limit_minor) FILTER(WHERE
          (
            type = 'credit.statement'
          )
          AND (
            recency_rank = 1
          )
          AND (
            NOT account_ended
          )),
        0
      ) + COALESCE(
        SUM(credit_limit_minor) FILTER(WHERE
          (
            type = 'bureau.tradeline'
          )
          AND (
            recency_rank = 1
          )
          AND (
            status = 'open'
          )),
        0
      ) AS DOUBLE),
      0
    ) AS balance_to_limit,
    CAST(SUM(amount_minor) FILTER(WHERE
      (
        type = 'credit.payment'
      )
      AND (
        occurred_at >= CAST('2024-03-01 00:00:00+00:00' AS TIMESTAMP)
      )) AS DOUBLE) / NULLIF(
      CAST(SUM(balance_minor) FILTER(WHERE
        (
          type = 'credit.statement'
        )
        AND (
          occurred_at >= CAST('2024-03-01 00:00:00+00:00' AS TIMESTAMP)
        )) AS DOUBLE),
      0
    ) AS payment_to_balance_3m,
    CAST(SUM(balance_minor) FILTER(WHERE
      (
        type = 'credit.statement'
      )
      AND (
        occurred_at >= CAST('2023-12-01 00:00:00+00:00' AS TIMESTAMP)
      )) AS DOUBLE) / NULLIF(
      CAST(SUM(account_limit_minor) FILTER(WHERE
        (
          type = 'credit.statement'
        )
        AND (
          occurred_at >= CAST('2023-12-01 00:00:00+00:00' AS TIMESTAMP)
        )) AS DOUBLE),
      0
    ) AS average_utilisation_6m,
    CAST(SUM(amount_minor) FILTER(WHERE
      (
        type = 'credit.payment'
      )
      AND (
        occurred_at >= CAST('2023-12-01 00:00:00+00:00' AS TIMESTAMP)
      )) AS DOUBLE) / NULLIF(
      CAST(SUM(balance_minor) FILTER(WHERE
        (
          type = 'credit.statement'
        )
        AND (
          occurred_at >= CAST('2023-12-01 00:00:00+00:00' AS TIMESTAMP)
        )) AS DOUBLE),
      0
    ) AS payment_to_balance_6m,
    COALESCE(
      SUM(amount_minor) FILTER(WHERE
        (
          type = 'credit.payment'
        )
        AND (
          occurred_at >= CAST('2024-03-01 00:00:00+00:00' AS TIMESTAMP)
        )),
      0
    ) AS credit_payments_3m,
    CAST(NULLIF(
      COALESCE(
        SUM(account_limit_minor) FILTER(WHERE
          (
            type = 'credit.statement'
          )
          AND (
            recency_rank = 1
          )
          AND (
            NOT account_ended
          )),
        0
      ) + COALESCE(
        SUM(credit_limit_minor) FILTER(WHERE
          (
            type = 'bureau.tradeline'
          )
          AND (
            recency_rank = 1
          )
          AND (
            status = 'open'
          )),
        0
      ),
      0
    ) AS DOUBLE) AS total_credit_limit,
    MAX(
      CASE band
        WHEN 'under_2k'
        THEN 1
        WHEN '2k_5k'
        THEN 2
        WHEN '5k_10k'
        THEN 3
        WHEN '10k_20k'
        THEN 4
        WHEN '20k_plus'
        THEN 5
      END
    ) FILTER(WHERE
      (
        type = 'income.verified'
      ) AND (
        type_recency_rank = 1
      )) AS income_band,
    24294 - (
      YEAR(
        MIN(opened_date) FILTER(WHERE
          (
            (
              type = 'credit.opened'
            )
            OR (
              (
                type = 'bureau.tradeline'
              ) AND (
                recency_rank = 1
              )
            )
          ))
      ) * 12 + MONTH(
        MIN(opened_date) FILTER(WHERE
          (
            (
              type = 'credit.opened'
            )
            OR (
              (
                type = 'bureau.tradeline'
              ) AND (
                recency_rank = 1
              )
            )
          ))
      )
    ) AS months_since_oldest_account,
    AVG(24294 - (
      YEAR(opened_date) * 12 + MONTH(opened_date)
    )) FILTER(WHERE
      (
        (
          type = 'credit.opened'
        )
        OR (
          (
            type = 'bureau.tradeline'
          ) AND (
            recency_rank = 1
          )
        )
      )) AS average_account_age_months,
    24294 - (
      YEAR(MIN(occurred_date)) * 12 + MONTH(MIN(occurred_date))
    ) AS tenure_months,
    COUNT(*) FILTER(WHERE
      (
        (
          (
            type = 'credit.opened'
          ) AND (
            NOT account_ended
          )
        )
        OR (
          (
            type = 'bureau.tradeline'
          )
          AND (
            recency_rank = 1
          )
          AND (
            status = 'open'
          )
        )
      )) AS open_credit_lines,
    COUNT(*) FILTER(WHERE
      (
        (
          (
            type = 'credit.opened'
          )
          OR (
            (
              type = 'bureau.tradeline'
            ) AND (
              recency_rank = 1
            )
          )
        )
      )
      AND (
        opened_date >= CAST('2023-12-01' AS DATE)
      )) AS new_accounts_6m,
    COUNT(*) FILTER(WHERE
      (
        type = 'credit.inquiry'
      )
      AND (
        occurred_at >= CAST('2023-12-01 00:00:00+00:00' AS TIMESTAMP)
      )) AS inquiries_6m,
    COUNT(*) FILTER(WHERE
      (
        type = 'credit.inquiry'
      )
      AND (
        occurred_at >= CAST('2023-06-01 00:00:00+00:00' AS TIMESTAMP)
      )) AS inquiries_12m,
    CAST(COUNT(*) FILTER(WHERE
      (
        (
          type = 'bill.issued'
        )
        AND (
          bill_kind IN ('utility', 'telecom')
        )
        AND (
          due_date < CAST('2024-06-01' AS DATE)
        )
        AND (
          occurred_at >= CAST('2023-06-01 00:00:00+00:00' AS TIMESTAMP)
        )
      )
      AND (
        bill_paid_date <= due_date
      )) AS DOUBLE) / NULLIF(
      CAST(COUNT(*) FILTER(WHERE
        (
          type = 'bill.issued'
        )
        AND (
          bill_kind IN ('utility', 'telecom')
        )
        AND (
          due_date < CAST('2024-06-01' AS DATE)
        )
        AND (
          occurred_at >= CAST('2023-06-01 00:00:00+00:00' AS TIMESTAMP)
        )) AS DOUBLE),
      0
    ) AS bills_on_time_share_12m,
    CAST(COUNT(*) FILTER(WHERE
      (
        (
          type = 'bill.issued'
        )
        AND (
          bill_kind IN ('rent')
        )
        AND (
          due_date < CAST('2024-06-01' AS DATE)
        )
        AND (
          occurred_at >= CAST('2023-06-01 00:00:00+00:00' AS TIMESTAMP)
        )
      )
      AND (
        bill_paid_date <= due_date
      )) AS DOUBLE) / NULLIF(
      CAST(COUNT(*) FILTER(WHERE
        (
          type = 'bill.issued'
        )
        AND (
          bill_kind IN ('rent')
        )
        AND (
          due_date < CAST('2024-06-01' AS DATE)
        )
        AND (
          occurred_at >= CAST('2023-06-01 00:00:00+00:00' AS TIMESTAMP)
        )) AS DOUBLE),
      0
    ) AS rent_on_time_share_12m,
    CAST(COUNT(*) FILTER(WHERE
      (
        type = 'rental.returned'
      )
      AND (
        on_time
      )
      AND (
        occurred_at >= CAST('2023-06-01 00:00:00+00:00' AS TIMESTAMP)
      )) AS DOUBLE) / NULLIF(
      CAST(COUNT(*) FILTER(WHERE
        (
          type = 'rental.returned'
        )
        AND (
          occurred_at >= CAST('2023-06-01 00:00:00+00:00' AS TIMESTAMP)
        )) AS DOUBLE),
      0
    ) AS rental_returns_on_time_share_12m,
    COUNT(*) FILTER(WHERE
      (
        type = 'rental.fee_unpaid'
      )
      AND (
        occurred_at >= CAST('2023-06-01 00:00:00+00:00' AS TIMESTAMP)
      )) AS unpaid_rental_fees_12m,
    COALESCE(
      MAX(
        CASE level WHEN 'contact' THEN 1 WHEN 'document' THEN 2 WHEN 'in_person' THEN 3 END
      ) FILTER(WHERE
        type = 'identity.verified'),
      0
    ) AS identity_level,
    (
      MIN(occurred_at) < CAST('2023-12-01 00:00:00+00:00' AS TIMESTAMP)
    )
    AND (
      COUNT(*) FILTER(WHERE
        (
          type IN (
            'order.payment',
            'bill.issued',
            'bill.paid',
            'credit.statement',
            'credit.status',
            'credit.payment',
            'credit.charged_off',
            'rental.returned',
            'rental.fee_unpaid',
            'bureau.tradeline'
          )
        )
        AND (
          occurred_at >= CAST('2023-12-01 00:00:00+00:00' AS TIMESTAMP)
        )) >= 1
    )
    AND (
      COUNT(*) FILTER(WHERE
        (
          type IN (
            'order.payment',
            'bill.issued',
            'bill.paid',
            'credit.statement',
            'credit.status',
            'credit.payment',
            'credit.charged_off',
            'rental.returned',
            'rental.fee_unpaid',
            'bureau.tradeline'
          )
        )
        AND (
          occurred_at >= CAST('2022-06-01 00:00:00+00:00' AS TIMESTAMP)
        )) >= 3
    ) AS is_scorable
  FROM enriched_events
  GROUP BY
    consumer_id
)
SELECT
  p.consumer_id AS consumer_id,
  CAST(COALESCE(a.late_payments_12m, 0) AS BIGINT) AS late_payments_12m,
  CAST(COALESCE(a.late_payments_24m, 0) AS BIGINT) AS late_payments_24m,
  CAST(COALESCE(a.missed_payments_12m, 0) AS BIGINT) AS missed_payments_12m,
  CAST(COALESCE(a.worst_days_past_due_24m, 0) AS BIGINT) AS worst_days_past_due_24m,
  CAST(a.months_since_last_delinquency AS DOUBLE) AS months_since_last_delinquency,
  CAST(COALESCE(a.days_past_due_now, 0) AS BIGINT) AS days_past_due_now,
  CAST(COALESCE(a.worst_days_past_due_3m, 0) AS BIGINT) AS worst_days_past_due_3m,
  CAST(COALESCE(a.late_payments_3m, 0) AS BIGINT) AS late_payments_3m,
  CAST(COALESCE(a.derogatory_records, 0) AS BIGINT) AS derogatory_records,
  CAST(a.revolving_utilisation AS DOUBLE) AS revolving_utilisation,
  CAST(a.balance_to_limit AS DOUBLE) AS balance_to_limit,
  CAST(a.payment_to_balance_3m AS DOUBLE) AS payment_to_balance_3m,
  CAST(a.average_utilisation_6m AS DOUBLE) AS average_utilisation_6m,
  CAST(a.payment_to_balance_6m AS DOUBLE) AS payment_to_balance_6m,
  CAST(COALESCE(a.credit_payments_3m, 0) AS BIGINT) AS credit_payments_3m,
  CAST(a.total_credit_limit AS DOUBLE) AS total_credit_limit,
  CAST(a.income_band AS DOUBLE) AS income_band,
  CAST(a.months_since_oldest_account AS DOUBLE) AS months_since_oldest_account,
  CAST(a.average_account_age_months AS DOUBLE) AS average_account_age_months,
  CAST(a.tenure_months AS DOUBLE) AS tenure_months,
  CAST(COALESCE(a.open_credit_lines, 0) AS BIGINT) AS open_credit_lines,
  CAST(COALESCE(a.new_accounts_6m, 0) AS BIGINT) AS new_accounts_6m,
  CAST(COALESCE(a.inquiries_6m, 0) AS BIGINT) AS inquiries_6m,
  CAST(COALESCE(a.inquiries_12m, 0) AS BIGINT) AS inquiries_12m,
  CAST(a.bills_on_time_share_12m AS DOUBLE) AS bills_on_time_share_12m,
  CAST(a.rent_on_time_share_12m AS DOUBLE) AS rent_on_time_share_12m,
  CAST(a.rental_returns_on_time_share_12m AS DOUBLE) AS rental_returns_on_time_share_12m,
  CAST(COALESCE(a.unpaid_rental_fees_12m, 0) AS BIGINT) AS unpaid_rental_fees_12m,
  CAST(COALESCE(a.identity_level, 0) AS BIGINT) AS identity_level,
  COALESCE(a.is_scorable, FALSE) AS is_scorable
FROM population AS p
LEFT JOIN features_agg AS a
  ON a.consumer_id = p.consumer_id
ORDER BY
  p.consumer_id NULLS LAST
