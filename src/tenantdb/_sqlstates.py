"""SQLSTATE exception classes (GENERATED: do not edit).

Written by scripts/gen_sqlstates.py from PostgreSQL's errcodes.txt. One class per PostgreSQL error
code, parented to the class-level code of its first two characters;
``tenantdb.errors`` re-exports them.
"""

# The names are PostgreSQL's spec names (psycopg style), not ours to suffix with Error.
# ruff: noqa: N818

from __future__ import annotations

from tenantdb._errors_base import QueryError

__all__ = (
    "ActiveSqlTransaction",
    "AdminShutdown",
    "AmbiguousAlias",
    "AmbiguousColumn",
    "AmbiguousFunction",
    "AmbiguousParameter",
    "ArraySubscriptError",
    "AssertFailure",
    "BadCopyFileFormat",
    "BranchTransactionAlreadyActive",
    "CannotCoerce",
    "CannotConnectNow",
    "CantChangeRuntimeParam",
    "CardinalityViolation",
    "CaseNotFound",
    "CharacterNotInRepertoire",
    "CheckViolation",
    "CollationMismatch",
    "ConfigFileError",
    "ConfigurationLimitExceeded",
    "ConnectionDoesNotExist",
    "ConnectionException",
    "ConnectionFailure",
    "ContainingSqlNotPermitted",
    "CrashShutdown",
    "DataCorrupted",
    "DataException",
    "DatabaseDropped",
    "DatatypeMismatch",
    "DatetimeFieldOverflow",
    "DeadlockDetected",
    "DependentObjectsStillExist",
    "DependentPrivilegeDescriptorsStillExist",
    "DiagnosticsException",
    "DiskFull",
    "DivisionByZero",
    "DuplicateAlias",
    "DuplicateColumn",
    "DuplicateCursor",
    "DuplicateDatabase",
    "DuplicateFile",
    "DuplicateFunction",
    "DuplicateJsonObjectKeyValue",
    "DuplicateObject",
    "DuplicatePreparedStatement",
    "DuplicateSchema",
    "DuplicateTable",
    "ErrorInAssignment",
    "EscapeCharacterConflict",
    "EventTriggerProtocolViolated",
    "ExclusionViolation",
    "ExternalRoutineException",
    "ExternalRoutineInvocationException",
    "ExternalRoutineInvocationNullValueNotAllowed",
    "ExternalRoutineModifyingSqlDataNotPermitted",
    "ExternalRoutineProhibitedSqlStatementAttempted",
    "ExternalRoutineReadingSqlDataNotPermitted",
    "FdwColumnNameNotFound",
    "FdwDynamicParameterValueNeeded",
    "FdwError",
    "FdwFunctionSequenceError",
    "FdwInconsistentDescriptorInformation",
    "FdwInvalidAttributeValue",
    "FdwInvalidColumnName",
    "FdwInvalidColumnNumber",
    "FdwInvalidDataType",
    "FdwInvalidDataTypeDescriptors",
    "FdwInvalidDescriptorFieldIdentifier",
    "FdwInvalidHandle",
    "FdwInvalidOptionIndex",
    "FdwInvalidOptionName",
    "FdwInvalidStringFormat",
    "FdwInvalidStringLengthOrBufferLength",
    "FdwInvalidUseOfNullPointer",
    "FdwNoSchemas",
    "FdwOptionNameNotFound",
    "FdwOutOfMemory",
    "FdwReplyHandle",
    "FdwSchemaNotFound",
    "FdwTableNotFound",
    "FdwTooManyHandles",
    "FdwUnableToCreateExecution",
    "FdwUnableToCreateReply",
    "FdwUnableToEstablishConnection",
    "FeatureNotSupported",
    "FileNameTooLong",
    "FloatingPointException",
    "ForeignKeyViolation",
    "FunctionExecutedNoReturnStatement",
    "GeneratedAlways",
    "GroupingError",
    "HeldCursorRequiresSameIsolationLevel",
    "IdleInTransactionSessionTimeout",
    "IdleSessionTimeout",
    "InFailedSqlTransaction",
    "InappropriateAccessModeForBranchTransaction",
    "InappropriateIsolationLevelForBranchTransaction",
    "IndeterminateCollation",
    "IndeterminateDatatype",
    "IndexCorrupted",
    "IndicatorOverflow",
    "InsufficientPrivilege",
    "InsufficientResources",
    "IntegrityConstraintViolation",
    "InternalError",
    "IntervalFieldOverflow",
    "InvalidArgumentForLogarithm",
    "InvalidArgumentForNthValueFunction",
    "InvalidArgumentForNtileFunction",
    "InvalidArgumentForPowerFunction",
    "InvalidArgumentForSqlJsonDatetimeFunction",
    "InvalidArgumentForWidthBucketFunction",
    "InvalidArgumentForXquery",
    "InvalidAuthorizationSpecification",
    "InvalidBinaryRepresentation",
    "InvalidCatalogName",
    "InvalidCharacterValueForCast",
    "InvalidColumnDefinition",
    "InvalidColumnReference",
    "InvalidCursorDefinition",
    "InvalidCursorName",
    "InvalidCursorState",
    "InvalidDatabaseDefinition",
    "InvalidDatetimeFormat",
    "InvalidEscapeCharacter",
    "InvalidEscapeOctet",
    "InvalidEscapeSequence",
    "InvalidForeignKey",
    "InvalidFunctionDefinition",
    "InvalidGrantOperation",
    "InvalidGrantor",
    "InvalidIndicatorParameterValue",
    "InvalidJsonText",
    "InvalidLocatorSpecification",
    "InvalidName",
    "InvalidObjectDefinition",
    "InvalidParameterValue",
    "InvalidPassword",
    "InvalidPrecedingOrFollowingSize",
    "InvalidPreparedStatementDefinition",
    "InvalidRecursion",
    "InvalidRegularExpression",
    "InvalidRoleSpecification",
    "InvalidRowCountInLimitClause",
    "InvalidRowCountInResultOffsetClause",
    "InvalidSavepointSpecification",
    "InvalidSchemaDefinition",
    "InvalidSchemaName",
    "InvalidSqlJsonSubscript",
    "InvalidSqlStatementName",
    "InvalidSqlstateReturned",
    "InvalidTableDefinition",
    "InvalidTablesampleArgument",
    "InvalidTablesampleRepeat",
    "InvalidTextRepresentation",
    "InvalidTimeZoneDisplacementValue",
    "InvalidTransactionInitiation",
    "InvalidTransactionState",
    "InvalidTransactionTermination",
    "InvalidUseOfEscapeCharacter",
    "InvalidXmlComment",
    "InvalidXmlContent",
    "InvalidXmlDocument",
    "InvalidXmlProcessingInstruction",
    "IoError",
    "LocatorException",
    "LockFileExists",
    "LockNotAvailable",
    "ModifyingSqlDataNotPermitted",
    "MoreThanOneSqlJsonItem",
    "MostSpecificTypeMismatch",
    "NameTooLong",
    "NoActiveSqlTransaction",
    "NoActiveSqlTransactionForBranchTransaction",
    "NoDataFound",
    "NoSqlJsonItem",
    "NonNumericSqlJsonItem",
    "NonUniqueKeysInAJsonObject",
    "NonstandardUseOfEscapeCharacter",
    "NotAnXmlDocument",
    "NotNullViolation",
    "NullValueNoIndicatorParameter",
    "NullValueNotAllowed",
    "NumericValueOutOfRange",
    "ObjectInUse",
    "ObjectNotInPrerequisiteState",
    "OperatorIntervention",
    "OutOfMemory",
    "PlpgsqlError",
    "PostgresSyntaxError",
    "PostgresSystemError",
    "ProgramLimitExceeded",
    "ProhibitedSqlStatementAttempted",
    "ProtocolViolation",
    "QueryCanceled",
    "RaiseException",
    "ReadOnlySqlTransaction",
    "ReadingSqlDataNotPermitted",
    "ReservedName",
    "RestrictViolation",
    "SavepointException",
    "SchemaAndDataStatementMixingNotSupported",
    "SequenceGeneratorLimitExceeded",
    "SerializationFailure",
    "SingletonSqlJsonItemRequired",
    "SqlJsonArrayNotFound",
    "SqlJsonItemCannotBeCastToTargetType",
    "SqlJsonMemberNotFound",
    "SqlJsonNumberNotFound",
    "SqlJsonObjectNotFound",
    "SqlJsonScalarRequired",
    "SqlRoutineException",
    "SqlStatementNotYetComplete",
    "SqlclientUnableToEstablishSqlconnection",
    "SqlserverRejectedEstablishmentOfSqlconnection",
    "SrfProtocolViolated",
    "StackedDiagnosticsAccessedWithoutActiveHandler",
    "StatementCompletionUnknown",
    "StatementTooComplex",
    "StringDataLengthMismatch",
    "StringDataRightTruncation",
    "SubstringError",
    "SyntaxErrorOrAccessRuleViolation",
    "TooManyArguments",
    "TooManyColumns",
    "TooManyConnections",
    "TooManyJsonArrayElements",
    "TooManyJsonObjectMembers",
    "TooManyRows",
    "TransactionIntegrityConstraintViolation",
    "TransactionResolutionUnknown",
    "TransactionRollback",
    "TransactionTimeout",
    "TriggerProtocolViolated",
    "TriggeredActionException",
    "TriggeredDataChangeViolation",
    "TrimError",
    "UndefinedColumn",
    "UndefinedFile",
    "UndefinedFunction",
    "UndefinedObject",
    "UndefinedParameter",
    "UndefinedTable",
    "UniqueViolation",
    "UnsafeNewEnumValueUsage",
    "UnterminatedCString",
    "UntranslatableCharacter",
    "WindowingError",
    "WithCheckOptionViolation",
    "WrongObjectType",
    "ZeroLengthCharacterString",
)


class SqlStatementNotYetComplete(QueryError):
    """SQLSTATE 03000 ``sql_statement_not_yet_complete``."""

    sqlstate = "03000"


class ConnectionException(QueryError):
    """SQLSTATE 08000 ``connection_exception``."""

    sqlstate = "08000"


class ConnectionDoesNotExist(ConnectionException):
    """SQLSTATE 08003 ``connection_does_not_exist``."""

    sqlstate = "08003"


class ConnectionFailure(ConnectionException):
    """SQLSTATE 08006 ``connection_failure``."""

    sqlstate = "08006"


class SqlclientUnableToEstablishSqlconnection(ConnectionException):
    """SQLSTATE 08001 ``sqlclient_unable_to_establish_sqlconnection``."""

    sqlstate = "08001"
    retryable = True  # unable to establish a connection: nothing ran


class SqlserverRejectedEstablishmentOfSqlconnection(ConnectionException):
    """SQLSTATE 08004 ``sqlserver_rejected_establishment_of_sqlconnection``."""

    sqlstate = "08004"
    retryable = True  # server rejected the connection: nothing ran


class TransactionResolutionUnknown(ConnectionException):
    """SQLSTATE 08007 ``transaction_resolution_unknown``."""

    sqlstate = "08007"


class ProtocolViolation(ConnectionException):
    """SQLSTATE 08P01 ``protocol_violation``."""

    sqlstate = "08P01"


class TriggeredActionException(QueryError):
    """SQLSTATE 09000 ``triggered_action_exception``."""

    sqlstate = "09000"


class FeatureNotSupported(QueryError):
    """SQLSTATE 0A000 ``feature_not_supported``."""

    sqlstate = "0A000"


class InvalidTransactionInitiation(QueryError):
    """SQLSTATE 0B000 ``invalid_transaction_initiation``."""

    sqlstate = "0B000"


class LocatorException(QueryError):
    """SQLSTATE 0F000 ``locator_exception``."""

    sqlstate = "0F000"


class InvalidLocatorSpecification(LocatorException):
    """SQLSTATE 0F001 ``invalid_locator_specification``."""

    sqlstate = "0F001"


class InvalidGrantor(QueryError):
    """SQLSTATE 0L000 ``invalid_grantor``."""

    sqlstate = "0L000"


class InvalidGrantOperation(InvalidGrantor):
    """SQLSTATE 0LP01 ``invalid_grant_operation``."""

    sqlstate = "0LP01"


class InvalidRoleSpecification(QueryError):
    """SQLSTATE 0P000 ``invalid_role_specification``."""

    sqlstate = "0P000"


class DiagnosticsException(QueryError):
    """SQLSTATE 0Z000 ``diagnostics_exception``."""

    sqlstate = "0Z000"


class StackedDiagnosticsAccessedWithoutActiveHandler(DiagnosticsException):
    """SQLSTATE 0Z002 ``stacked_diagnostics_accessed_without_active_handler``."""

    sqlstate = "0Z002"


class InvalidArgumentForXquery(QueryError):
    """SQLSTATE 10608 ``invalid_argument_for_xquery``."""

    sqlstate = "10608"


class CaseNotFound(QueryError):
    """SQLSTATE 20000 ``case_not_found``."""

    sqlstate = "20000"


class CardinalityViolation(QueryError):
    """SQLSTATE 21000 ``cardinality_violation``."""

    sqlstate = "21000"


class DataException(QueryError):
    """SQLSTATE 22000 ``data_exception``."""

    sqlstate = "22000"


class ArraySubscriptError(DataException):
    """SQLSTATE 2202E ``array_subscript_error``."""

    sqlstate = "2202E"


class CharacterNotInRepertoire(DataException):
    """SQLSTATE 22021 ``character_not_in_repertoire``."""

    sqlstate = "22021"


class DatetimeFieldOverflow(DataException):
    """SQLSTATE 22008 ``datetime_field_overflow``."""

    sqlstate = "22008"


class DivisionByZero(DataException):
    """SQLSTATE 22012 ``division_by_zero``."""

    sqlstate = "22012"


class ErrorInAssignment(DataException):
    """SQLSTATE 22005 ``error_in_assignment``."""

    sqlstate = "22005"


class EscapeCharacterConflict(DataException):
    """SQLSTATE 2200B ``escape_character_conflict``."""

    sqlstate = "2200B"


class IndicatorOverflow(DataException):
    """SQLSTATE 22022 ``indicator_overflow``."""

    sqlstate = "22022"


class IntervalFieldOverflow(DataException):
    """SQLSTATE 22015 ``interval_field_overflow``."""

    sqlstate = "22015"


class InvalidArgumentForLogarithm(DataException):
    """SQLSTATE 2201E ``invalid_argument_for_logarithm``."""

    sqlstate = "2201E"


class InvalidArgumentForNtileFunction(DataException):
    """SQLSTATE 22014 ``invalid_argument_for_ntile_function``."""

    sqlstate = "22014"


class InvalidArgumentForNthValueFunction(DataException):
    """SQLSTATE 22016 ``invalid_argument_for_nth_value_function``."""

    sqlstate = "22016"


class InvalidArgumentForPowerFunction(DataException):
    """SQLSTATE 2201F ``invalid_argument_for_power_function``."""

    sqlstate = "2201F"


class InvalidArgumentForWidthBucketFunction(DataException):
    """SQLSTATE 2201G ``invalid_argument_for_width_bucket_function``."""

    sqlstate = "2201G"


class InvalidCharacterValueForCast(DataException):
    """SQLSTATE 22018 ``invalid_character_value_for_cast``."""

    sqlstate = "22018"


class InvalidDatetimeFormat(DataException):
    """SQLSTATE 22007 ``invalid_datetime_format``."""

    sqlstate = "22007"


class InvalidEscapeCharacter(DataException):
    """SQLSTATE 22019 ``invalid_escape_character``."""

    sqlstate = "22019"


class InvalidEscapeOctet(DataException):
    """SQLSTATE 2200D ``invalid_escape_octet``."""

    sqlstate = "2200D"


class InvalidEscapeSequence(DataException):
    """SQLSTATE 22025 ``invalid_escape_sequence``."""

    sqlstate = "22025"


class NonstandardUseOfEscapeCharacter(DataException):
    """SQLSTATE 22P06 ``nonstandard_use_of_escape_character``."""

    sqlstate = "22P06"


class InvalidIndicatorParameterValue(DataException):
    """SQLSTATE 22010 ``invalid_indicator_parameter_value``."""

    sqlstate = "22010"


class InvalidParameterValue(DataException):
    """SQLSTATE 22023 ``invalid_parameter_value``."""

    sqlstate = "22023"


class InvalidPrecedingOrFollowingSize(DataException):
    """SQLSTATE 22013 ``invalid_preceding_or_following_size``."""

    sqlstate = "22013"


class InvalidRegularExpression(DataException):
    """SQLSTATE 2201B ``invalid_regular_expression``."""

    sqlstate = "2201B"


class InvalidRowCountInLimitClause(DataException):
    """SQLSTATE 2201W ``invalid_row_count_in_limit_clause``."""

    sqlstate = "2201W"


class InvalidRowCountInResultOffsetClause(DataException):
    """SQLSTATE 2201X ``invalid_row_count_in_result_offset_clause``."""

    sqlstate = "2201X"


class InvalidTablesampleArgument(DataException):
    """SQLSTATE 2202H ``invalid_tablesample_argument``."""

    sqlstate = "2202H"


class InvalidTablesampleRepeat(DataException):
    """SQLSTATE 2202G ``invalid_tablesample_repeat``."""

    sqlstate = "2202G"


class InvalidTimeZoneDisplacementValue(DataException):
    """SQLSTATE 22009 ``invalid_time_zone_displacement_value``."""

    sqlstate = "22009"


class InvalidUseOfEscapeCharacter(DataException):
    """SQLSTATE 2200C ``invalid_use_of_escape_character``."""

    sqlstate = "2200C"


class MostSpecificTypeMismatch(DataException):
    """SQLSTATE 2200G ``most_specific_type_mismatch``."""

    sqlstate = "2200G"


class NullValueNotAllowed(DataException):
    """SQLSTATE 22004 ``null_value_not_allowed``."""

    sqlstate = "22004"


class NullValueNoIndicatorParameter(DataException):
    """SQLSTATE 22002 ``null_value_no_indicator_parameter``."""

    sqlstate = "22002"


class NumericValueOutOfRange(DataException):
    """SQLSTATE 22003 ``numeric_value_out_of_range``."""

    sqlstate = "22003"


class SequenceGeneratorLimitExceeded(DataException):
    """SQLSTATE 2200H ``sequence_generator_limit_exceeded``."""

    sqlstate = "2200H"


class StringDataLengthMismatch(DataException):
    """SQLSTATE 22026 ``string_data_length_mismatch``."""

    sqlstate = "22026"


class StringDataRightTruncation(DataException):
    """SQLSTATE 22001 ``string_data_right_truncation``."""

    sqlstate = "22001"


class SubstringError(DataException):
    """SQLSTATE 22011 ``substring_error``."""

    sqlstate = "22011"


class TrimError(DataException):
    """SQLSTATE 22027 ``trim_error``."""

    sqlstate = "22027"


class UnterminatedCString(DataException):
    """SQLSTATE 22024 ``unterminated_c_string``."""

    sqlstate = "22024"


class ZeroLengthCharacterString(DataException):
    """SQLSTATE 2200F ``zero_length_character_string``."""

    sqlstate = "2200F"


class FloatingPointException(DataException):
    """SQLSTATE 22P01 ``floating_point_exception``."""

    sqlstate = "22P01"


class InvalidTextRepresentation(DataException):
    """SQLSTATE 22P02 ``invalid_text_representation``."""

    sqlstate = "22P02"


class InvalidBinaryRepresentation(DataException):
    """SQLSTATE 22P03 ``invalid_binary_representation``."""

    sqlstate = "22P03"


class BadCopyFileFormat(DataException):
    """SQLSTATE 22P04 ``bad_copy_file_format``."""

    sqlstate = "22P04"


class UntranslatableCharacter(DataException):
    """SQLSTATE 22P05 ``untranslatable_character``."""

    sqlstate = "22P05"


class NotAnXmlDocument(DataException):
    """SQLSTATE 2200L ``not_an_xml_document``."""

    sqlstate = "2200L"


class InvalidXmlDocument(DataException):
    """SQLSTATE 2200M ``invalid_xml_document``."""

    sqlstate = "2200M"


class InvalidXmlContent(DataException):
    """SQLSTATE 2200N ``invalid_xml_content``."""

    sqlstate = "2200N"


class InvalidXmlComment(DataException):
    """SQLSTATE 2200S ``invalid_xml_comment``."""

    sqlstate = "2200S"


class InvalidXmlProcessingInstruction(DataException):
    """SQLSTATE 2200T ``invalid_xml_processing_instruction``."""

    sqlstate = "2200T"


class DuplicateJsonObjectKeyValue(DataException):
    """SQLSTATE 22030 ``duplicate_json_object_key_value``."""

    sqlstate = "22030"


class InvalidArgumentForSqlJsonDatetimeFunction(DataException):
    """SQLSTATE 22031 ``invalid_argument_for_sql_json_datetime_function``."""

    sqlstate = "22031"


class InvalidJsonText(DataException):
    """SQLSTATE 22032 ``invalid_json_text``."""

    sqlstate = "22032"


class InvalidSqlJsonSubscript(DataException):
    """SQLSTATE 22033 ``invalid_sql_json_subscript``."""

    sqlstate = "22033"


class MoreThanOneSqlJsonItem(DataException):
    """SQLSTATE 22034 ``more_than_one_sql_json_item``."""

    sqlstate = "22034"


class NoSqlJsonItem(DataException):
    """SQLSTATE 22035 ``no_sql_json_item``."""

    sqlstate = "22035"


class NonNumericSqlJsonItem(DataException):
    """SQLSTATE 22036 ``non_numeric_sql_json_item``."""

    sqlstate = "22036"


class NonUniqueKeysInAJsonObject(DataException):
    """SQLSTATE 22037 ``non_unique_keys_in_a_json_object``."""

    sqlstate = "22037"


class SingletonSqlJsonItemRequired(DataException):
    """SQLSTATE 22038 ``singleton_sql_json_item_required``."""

    sqlstate = "22038"


class SqlJsonArrayNotFound(DataException):
    """SQLSTATE 22039 ``sql_json_array_not_found``."""

    sqlstate = "22039"


class SqlJsonMemberNotFound(DataException):
    """SQLSTATE 2203A ``sql_json_member_not_found``."""

    sqlstate = "2203A"


class SqlJsonNumberNotFound(DataException):
    """SQLSTATE 2203B ``sql_json_number_not_found``."""

    sqlstate = "2203B"


class SqlJsonObjectNotFound(DataException):
    """SQLSTATE 2203C ``sql_json_object_not_found``."""

    sqlstate = "2203C"


class TooManyJsonArrayElements(DataException):
    """SQLSTATE 2203D ``too_many_json_array_elements``."""

    sqlstate = "2203D"


class TooManyJsonObjectMembers(DataException):
    """SQLSTATE 2203E ``too_many_json_object_members``."""

    sqlstate = "2203E"


class SqlJsonScalarRequired(DataException):
    """SQLSTATE 2203F ``sql_json_scalar_required``."""

    sqlstate = "2203F"


class SqlJsonItemCannotBeCastToTargetType(DataException):
    """SQLSTATE 2203G ``sql_json_item_cannot_be_cast_to_target_type``."""

    sqlstate = "2203G"


class IntegrityConstraintViolation(QueryError):
    """SQLSTATE 23000 ``integrity_constraint_violation``."""

    sqlstate = "23000"


class RestrictViolation(IntegrityConstraintViolation):
    """SQLSTATE 23001 ``restrict_violation``."""

    sqlstate = "23001"


class NotNullViolation(IntegrityConstraintViolation):
    """SQLSTATE 23502 ``not_null_violation``."""

    sqlstate = "23502"


class ForeignKeyViolation(IntegrityConstraintViolation):
    """SQLSTATE 23503 ``foreign_key_violation``."""

    sqlstate = "23503"


class UniqueViolation(IntegrityConstraintViolation):
    """SQLSTATE 23505 ``unique_violation``."""

    sqlstate = "23505"


class CheckViolation(IntegrityConstraintViolation):
    """SQLSTATE 23514 ``check_violation``."""

    sqlstate = "23514"


class ExclusionViolation(IntegrityConstraintViolation):
    """SQLSTATE 23P01 ``exclusion_violation``."""

    sqlstate = "23P01"


class InvalidCursorState(QueryError):
    """SQLSTATE 24000 ``invalid_cursor_state``."""

    sqlstate = "24000"


class InvalidTransactionState(QueryError):
    """SQLSTATE 25000 ``invalid_transaction_state``."""

    sqlstate = "25000"


class ActiveSqlTransaction(InvalidTransactionState):
    """SQLSTATE 25001 ``active_sql_transaction``."""

    sqlstate = "25001"


class BranchTransactionAlreadyActive(InvalidTransactionState):
    """SQLSTATE 25002 ``branch_transaction_already_active``."""

    sqlstate = "25002"


class HeldCursorRequiresSameIsolationLevel(InvalidTransactionState):
    """SQLSTATE 25008 ``held_cursor_requires_same_isolation_level``."""

    sqlstate = "25008"


class InappropriateAccessModeForBranchTransaction(InvalidTransactionState):
    """SQLSTATE 25003 ``inappropriate_access_mode_for_branch_transaction``."""

    sqlstate = "25003"


class InappropriateIsolationLevelForBranchTransaction(InvalidTransactionState):
    """SQLSTATE 25004 ``inappropriate_isolation_level_for_branch_transaction``."""

    sqlstate = "25004"


class NoActiveSqlTransactionForBranchTransaction(InvalidTransactionState):
    """SQLSTATE 25005 ``no_active_sql_transaction_for_branch_transaction``."""

    sqlstate = "25005"


class ReadOnlySqlTransaction(InvalidTransactionState):
    """SQLSTATE 25006 ``read_only_sql_transaction``."""

    sqlstate = "25006"


class SchemaAndDataStatementMixingNotSupported(InvalidTransactionState):
    """SQLSTATE 25007 ``schema_and_data_statement_mixing_not_supported``."""

    sqlstate = "25007"


class NoActiveSqlTransaction(InvalidTransactionState):
    """SQLSTATE 25P01 ``no_active_sql_transaction``."""

    sqlstate = "25P01"


class InFailedSqlTransaction(InvalidTransactionState):
    """SQLSTATE 25P02 ``in_failed_sql_transaction``."""

    sqlstate = "25P02"


class IdleInTransactionSessionTimeout(InvalidTransactionState):
    """SQLSTATE 25P03 ``idle_in_transaction_session_timeout``."""

    sqlstate = "25P03"


class TransactionTimeout(InvalidTransactionState):
    """SQLSTATE 25P04 ``transaction_timeout``."""

    sqlstate = "25P04"


class InvalidSqlStatementName(QueryError):
    """SQLSTATE 26000 ``invalid_sql_statement_name``."""

    sqlstate = "26000"


class TriggeredDataChangeViolation(QueryError):
    """SQLSTATE 27000 ``triggered_data_change_violation``."""

    sqlstate = "27000"


class InvalidAuthorizationSpecification(QueryError):
    """SQLSTATE 28000 ``invalid_authorization_specification``."""

    sqlstate = "28000"


class InvalidPassword(InvalidAuthorizationSpecification):
    """SQLSTATE 28P01 ``invalid_password``."""

    sqlstate = "28P01"


class DependentPrivilegeDescriptorsStillExist(QueryError):
    """SQLSTATE 2B000 ``dependent_privilege_descriptors_still_exist``."""

    sqlstate = "2B000"


class DependentObjectsStillExist(DependentPrivilegeDescriptorsStillExist):
    """SQLSTATE 2BP01 ``dependent_objects_still_exist``."""

    sqlstate = "2BP01"


class InvalidTransactionTermination(QueryError):
    """SQLSTATE 2D000 ``invalid_transaction_termination``."""

    sqlstate = "2D000"


class SqlRoutineException(QueryError):
    """SQLSTATE 2F000 ``sql_routine_exception``."""

    sqlstate = "2F000"


class FunctionExecutedNoReturnStatement(SqlRoutineException):
    """SQLSTATE 2F005 ``function_executed_no_return_statement``."""

    sqlstate = "2F005"


class ModifyingSqlDataNotPermitted(SqlRoutineException):
    """SQLSTATE 2F002 ``modifying_sql_data_not_permitted``."""

    sqlstate = "2F002"


class ProhibitedSqlStatementAttempted(SqlRoutineException):
    """SQLSTATE 2F003 ``prohibited_sql_statement_attempted``."""

    sqlstate = "2F003"


class ReadingSqlDataNotPermitted(SqlRoutineException):
    """SQLSTATE 2F004 ``reading_sql_data_not_permitted``."""

    sqlstate = "2F004"


class InvalidCursorName(QueryError):
    """SQLSTATE 34000 ``invalid_cursor_name``."""

    sqlstate = "34000"


class ExternalRoutineException(QueryError):
    """SQLSTATE 38000 ``external_routine_exception``."""

    sqlstate = "38000"


class ContainingSqlNotPermitted(ExternalRoutineException):
    """SQLSTATE 38001 ``containing_sql_not_permitted``."""

    sqlstate = "38001"


class ExternalRoutineModifyingSqlDataNotPermitted(ExternalRoutineException):
    """SQLSTATE 38002 ``modifying_sql_data_not_permitted``."""

    sqlstate = "38002"


class ExternalRoutineProhibitedSqlStatementAttempted(ExternalRoutineException):
    """SQLSTATE 38003 ``prohibited_sql_statement_attempted``."""

    sqlstate = "38003"


class ExternalRoutineReadingSqlDataNotPermitted(ExternalRoutineException):
    """SQLSTATE 38004 ``reading_sql_data_not_permitted``."""

    sqlstate = "38004"


class ExternalRoutineInvocationException(QueryError):
    """SQLSTATE 39000 ``external_routine_invocation_exception``."""

    sqlstate = "39000"


class InvalidSqlstateReturned(ExternalRoutineInvocationException):
    """SQLSTATE 39001 ``invalid_sqlstate_returned``."""

    sqlstate = "39001"


class ExternalRoutineInvocationNullValueNotAllowed(ExternalRoutineInvocationException):
    """SQLSTATE 39004 ``null_value_not_allowed``."""

    sqlstate = "39004"


class TriggerProtocolViolated(ExternalRoutineInvocationException):
    """SQLSTATE 39P01 ``trigger_protocol_violated``."""

    sqlstate = "39P01"


class SrfProtocolViolated(ExternalRoutineInvocationException):
    """SQLSTATE 39P02 ``srf_protocol_violated``."""

    sqlstate = "39P02"


class EventTriggerProtocolViolated(ExternalRoutineInvocationException):
    """SQLSTATE 39P03 ``event_trigger_protocol_violated``."""

    sqlstate = "39P03"


class SavepointException(QueryError):
    """SQLSTATE 3B000 ``savepoint_exception``."""

    sqlstate = "3B000"


class InvalidSavepointSpecification(SavepointException):
    """SQLSTATE 3B001 ``invalid_savepoint_specification``."""

    sqlstate = "3B001"


class InvalidCatalogName(QueryError):
    """SQLSTATE 3D000 ``invalid_catalog_name``."""

    sqlstate = "3D000"


class InvalidSchemaName(QueryError):
    """SQLSTATE 3F000 ``invalid_schema_name``."""

    sqlstate = "3F000"


class TransactionRollback(QueryError):
    """SQLSTATE 40000 ``transaction_rollback``."""

    sqlstate = "40000"


class TransactionIntegrityConstraintViolation(TransactionRollback):
    """SQLSTATE 40002 ``transaction_integrity_constraint_violation``."""

    sqlstate = "40002"


class SerializationFailure(TransactionRollback):
    """SQLSTATE 40001 ``serialization_failure``."""

    sqlstate = "40001"
    retryable = True  # serialization failure: the transaction was rolled back; rerun it


class StatementCompletionUnknown(TransactionRollback):
    """SQLSTATE 40003 ``statement_completion_unknown``."""

    sqlstate = "40003"


class DeadlockDetected(TransactionRollback):
    """SQLSTATE 40P01 ``deadlock_detected``."""

    sqlstate = "40P01"
    retryable = True  # deadlock victim: the transaction was rolled back; rerun it


class SyntaxErrorOrAccessRuleViolation(QueryError):
    """SQLSTATE 42000 ``syntax_error_or_access_rule_violation``."""

    sqlstate = "42000"


class PostgresSyntaxError(SyntaxErrorOrAccessRuleViolation):
    """SQLSTATE 42601 ``syntax_error``."""

    sqlstate = "42601"


class InsufficientPrivilege(SyntaxErrorOrAccessRuleViolation):
    """SQLSTATE 42501 ``insufficient_privilege``."""

    sqlstate = "42501"


class CannotCoerce(SyntaxErrorOrAccessRuleViolation):
    """SQLSTATE 42846 ``cannot_coerce``."""

    sqlstate = "42846"


class GroupingError(SyntaxErrorOrAccessRuleViolation):
    """SQLSTATE 42803 ``grouping_error``."""

    sqlstate = "42803"


class WindowingError(SyntaxErrorOrAccessRuleViolation):
    """SQLSTATE 42P20 ``windowing_error``."""

    sqlstate = "42P20"


class InvalidRecursion(SyntaxErrorOrAccessRuleViolation):
    """SQLSTATE 42P19 ``invalid_recursion``."""

    sqlstate = "42P19"


class InvalidForeignKey(SyntaxErrorOrAccessRuleViolation):
    """SQLSTATE 42830 ``invalid_foreign_key``."""

    sqlstate = "42830"


class InvalidName(SyntaxErrorOrAccessRuleViolation):
    """SQLSTATE 42602 ``invalid_name``."""

    sqlstate = "42602"


class NameTooLong(SyntaxErrorOrAccessRuleViolation):
    """SQLSTATE 42622 ``name_too_long``."""

    sqlstate = "42622"


class ReservedName(SyntaxErrorOrAccessRuleViolation):
    """SQLSTATE 42939 ``reserved_name``."""

    sqlstate = "42939"


class DatatypeMismatch(SyntaxErrorOrAccessRuleViolation):
    """SQLSTATE 42804 ``datatype_mismatch``."""

    sqlstate = "42804"


class IndeterminateDatatype(SyntaxErrorOrAccessRuleViolation):
    """SQLSTATE 42P18 ``indeterminate_datatype``."""

    sqlstate = "42P18"


class CollationMismatch(SyntaxErrorOrAccessRuleViolation):
    """SQLSTATE 42P21 ``collation_mismatch``."""

    sqlstate = "42P21"


class IndeterminateCollation(SyntaxErrorOrAccessRuleViolation):
    """SQLSTATE 42P22 ``indeterminate_collation``."""

    sqlstate = "42P22"


class WrongObjectType(SyntaxErrorOrAccessRuleViolation):
    """SQLSTATE 42809 ``wrong_object_type``."""

    sqlstate = "42809"


class GeneratedAlways(SyntaxErrorOrAccessRuleViolation):
    """SQLSTATE 428C9 ``generated_always``."""

    sqlstate = "428C9"


class UndefinedColumn(SyntaxErrorOrAccessRuleViolation):
    """SQLSTATE 42703 ``undefined_column``."""

    sqlstate = "42703"


class UndefinedFunction(SyntaxErrorOrAccessRuleViolation):
    """SQLSTATE 42883 ``undefined_function``."""

    sqlstate = "42883"


class UndefinedTable(SyntaxErrorOrAccessRuleViolation):
    """SQLSTATE 42P01 ``undefined_table``."""

    sqlstate = "42P01"


class UndefinedParameter(SyntaxErrorOrAccessRuleViolation):
    """SQLSTATE 42P02 ``undefined_parameter``."""

    sqlstate = "42P02"


class UndefinedObject(SyntaxErrorOrAccessRuleViolation):
    """SQLSTATE 42704 ``undefined_object``."""

    sqlstate = "42704"


class DuplicateColumn(SyntaxErrorOrAccessRuleViolation):
    """SQLSTATE 42701 ``duplicate_column``."""

    sqlstate = "42701"


class DuplicateCursor(SyntaxErrorOrAccessRuleViolation):
    """SQLSTATE 42P03 ``duplicate_cursor``."""

    sqlstate = "42P03"


class DuplicateDatabase(SyntaxErrorOrAccessRuleViolation):
    """SQLSTATE 42P04 ``duplicate_database``."""

    sqlstate = "42P04"


class DuplicateFunction(SyntaxErrorOrAccessRuleViolation):
    """SQLSTATE 42723 ``duplicate_function``."""

    sqlstate = "42723"


class DuplicatePreparedStatement(SyntaxErrorOrAccessRuleViolation):
    """SQLSTATE 42P05 ``duplicate_prepared_statement``."""

    sqlstate = "42P05"


class DuplicateSchema(SyntaxErrorOrAccessRuleViolation):
    """SQLSTATE 42P06 ``duplicate_schema``."""

    sqlstate = "42P06"


class DuplicateTable(SyntaxErrorOrAccessRuleViolation):
    """SQLSTATE 42P07 ``duplicate_table``."""

    sqlstate = "42P07"


class DuplicateAlias(SyntaxErrorOrAccessRuleViolation):
    """SQLSTATE 42712 ``duplicate_alias``."""

    sqlstate = "42712"


class DuplicateObject(SyntaxErrorOrAccessRuleViolation):
    """SQLSTATE 42710 ``duplicate_object``."""

    sqlstate = "42710"


class AmbiguousColumn(SyntaxErrorOrAccessRuleViolation):
    """SQLSTATE 42702 ``ambiguous_column``."""

    sqlstate = "42702"


class AmbiguousFunction(SyntaxErrorOrAccessRuleViolation):
    """SQLSTATE 42725 ``ambiguous_function``."""

    sqlstate = "42725"


class AmbiguousParameter(SyntaxErrorOrAccessRuleViolation):
    """SQLSTATE 42P08 ``ambiguous_parameter``."""

    sqlstate = "42P08"


class AmbiguousAlias(SyntaxErrorOrAccessRuleViolation):
    """SQLSTATE 42P09 ``ambiguous_alias``."""

    sqlstate = "42P09"


class InvalidColumnReference(SyntaxErrorOrAccessRuleViolation):
    """SQLSTATE 42P10 ``invalid_column_reference``."""

    sqlstate = "42P10"


class InvalidColumnDefinition(SyntaxErrorOrAccessRuleViolation):
    """SQLSTATE 42611 ``invalid_column_definition``."""

    sqlstate = "42611"


class InvalidCursorDefinition(SyntaxErrorOrAccessRuleViolation):
    """SQLSTATE 42P11 ``invalid_cursor_definition``."""

    sqlstate = "42P11"


class InvalidDatabaseDefinition(SyntaxErrorOrAccessRuleViolation):
    """SQLSTATE 42P12 ``invalid_database_definition``."""

    sqlstate = "42P12"


class InvalidFunctionDefinition(SyntaxErrorOrAccessRuleViolation):
    """SQLSTATE 42P13 ``invalid_function_definition``."""

    sqlstate = "42P13"


class InvalidPreparedStatementDefinition(SyntaxErrorOrAccessRuleViolation):
    """SQLSTATE 42P14 ``invalid_prepared_statement_definition``."""

    sqlstate = "42P14"


class InvalidSchemaDefinition(SyntaxErrorOrAccessRuleViolation):
    """SQLSTATE 42P15 ``invalid_schema_definition``."""

    sqlstate = "42P15"


class InvalidTableDefinition(SyntaxErrorOrAccessRuleViolation):
    """SQLSTATE 42P16 ``invalid_table_definition``."""

    sqlstate = "42P16"


class InvalidObjectDefinition(SyntaxErrorOrAccessRuleViolation):
    """SQLSTATE 42P17 ``invalid_object_definition``."""

    sqlstate = "42P17"


class WithCheckOptionViolation(QueryError):
    """SQLSTATE 44000 ``with_check_option_violation``."""

    sqlstate = "44000"


class InsufficientResources(QueryError):
    """SQLSTATE 53000 ``insufficient_resources``."""

    sqlstate = "53000"


class DiskFull(InsufficientResources):
    """SQLSTATE 53100 ``disk_full``."""

    sqlstate = "53100"


class OutOfMemory(InsufficientResources):
    """SQLSTATE 53200 ``out_of_memory``."""

    sqlstate = "53200"


class TooManyConnections(InsufficientResources):
    """SQLSTATE 53300 ``too_many_connections``."""

    sqlstate = "53300"
    retryable = True  # too_many_connections: raised at connect time, before any work ran


class ConfigurationLimitExceeded(InsufficientResources):
    """SQLSTATE 53400 ``configuration_limit_exceeded``."""

    sqlstate = "53400"


class ProgramLimitExceeded(QueryError):
    """SQLSTATE 54000 ``program_limit_exceeded``."""

    sqlstate = "54000"


class StatementTooComplex(ProgramLimitExceeded):
    """SQLSTATE 54001 ``statement_too_complex``."""

    sqlstate = "54001"


class TooManyColumns(ProgramLimitExceeded):
    """SQLSTATE 54011 ``too_many_columns``."""

    sqlstate = "54011"


class TooManyArguments(ProgramLimitExceeded):
    """SQLSTATE 54023 ``too_many_arguments``."""

    sqlstate = "54023"


class ObjectNotInPrerequisiteState(QueryError):
    """SQLSTATE 55000 ``object_not_in_prerequisite_state``."""

    sqlstate = "55000"


class ObjectInUse(ObjectNotInPrerequisiteState):
    """SQLSTATE 55006 ``object_in_use``."""

    sqlstate = "55006"


class CantChangeRuntimeParam(ObjectNotInPrerequisiteState):
    """SQLSTATE 55P02 ``cant_change_runtime_param``."""

    sqlstate = "55P02"


class LockNotAvailable(ObjectNotInPrerequisiteState):
    """SQLSTATE 55P03 ``lock_not_available``."""

    sqlstate = "55P03"
    retryable = True  # lock_not_available (NOWAIT / lock_timeout): the lock holder will finish


class UnsafeNewEnumValueUsage(ObjectNotInPrerequisiteState):
    """SQLSTATE 55P04 ``unsafe_new_enum_value_usage``."""

    sqlstate = "55P04"


class OperatorIntervention(QueryError):
    """SQLSTATE 57000 ``operator_intervention``."""

    sqlstate = "57000"


class QueryCanceled(OperatorIntervention):
    """SQLSTATE 57014 ``query_canceled``."""

    sqlstate = "57014"


class AdminShutdown(OperatorIntervention):
    """SQLSTATE 57P01 ``admin_shutdown``."""

    sqlstate = "57P01"
    retryable = True  # admin_shutdown: the server is restarting (failover); reconnect and rerun


class CrashShutdown(OperatorIntervention):
    """SQLSTATE 57P02 ``crash_shutdown``."""

    sqlstate = "57P02"
    retryable = True  # crash_shutdown: as admin_shutdown


class CannotConnectNow(OperatorIntervention):
    """SQLSTATE 57P03 ``cannot_connect_now``."""

    sqlstate = "57P03"
    retryable = True  # cannot_connect_now: the server is starting up or in recovery


class DatabaseDropped(OperatorIntervention):
    """SQLSTATE 57P04 ``database_dropped``."""

    sqlstate = "57P04"


class IdleSessionTimeout(OperatorIntervention):
    """SQLSTATE 57P05 ``idle_session_timeout``."""

    sqlstate = "57P05"


class PostgresSystemError(QueryError):
    """SQLSTATE 58000 ``system_error``."""

    sqlstate = "58000"


class IoError(PostgresSystemError):
    """SQLSTATE 58030 ``io_error``."""

    sqlstate = "58030"


class UndefinedFile(PostgresSystemError):
    """SQLSTATE 58P01 ``undefined_file``."""

    sqlstate = "58P01"


class DuplicateFile(PostgresSystemError):
    """SQLSTATE 58P02 ``duplicate_file``."""

    sqlstate = "58P02"


class FileNameTooLong(PostgresSystemError):
    """SQLSTATE 58P03 ``file_name_too_long``."""

    sqlstate = "58P03"


class ConfigFileError(QueryError):
    """SQLSTATE F0000 ``config_file_error``."""

    sqlstate = "F0000"


class LockFileExists(ConfigFileError):
    """SQLSTATE F0001 ``lock_file_exists``."""

    sqlstate = "F0001"


class FdwError(QueryError):
    """SQLSTATE HV000 ``fdw_error``."""

    sqlstate = "HV000"


class FdwColumnNameNotFound(FdwError):
    """SQLSTATE HV005 ``fdw_column_name_not_found``."""

    sqlstate = "HV005"


class FdwDynamicParameterValueNeeded(FdwError):
    """SQLSTATE HV002 ``fdw_dynamic_parameter_value_needed``."""

    sqlstate = "HV002"


class FdwFunctionSequenceError(FdwError):
    """SQLSTATE HV010 ``fdw_function_sequence_error``."""

    sqlstate = "HV010"


class FdwInconsistentDescriptorInformation(FdwError):
    """SQLSTATE HV021 ``fdw_inconsistent_descriptor_information``."""

    sqlstate = "HV021"


class FdwInvalidAttributeValue(FdwError):
    """SQLSTATE HV024 ``fdw_invalid_attribute_value``."""

    sqlstate = "HV024"


class FdwInvalidColumnName(FdwError):
    """SQLSTATE HV007 ``fdw_invalid_column_name``."""

    sqlstate = "HV007"


class FdwInvalidColumnNumber(FdwError):
    """SQLSTATE HV008 ``fdw_invalid_column_number``."""

    sqlstate = "HV008"


class FdwInvalidDataType(FdwError):
    """SQLSTATE HV004 ``fdw_invalid_data_type``."""

    sqlstate = "HV004"


class FdwInvalidDataTypeDescriptors(FdwError):
    """SQLSTATE HV006 ``fdw_invalid_data_type_descriptors``."""

    sqlstate = "HV006"


class FdwInvalidDescriptorFieldIdentifier(FdwError):
    """SQLSTATE HV091 ``fdw_invalid_descriptor_field_identifier``."""

    sqlstate = "HV091"


class FdwInvalidHandle(FdwError):
    """SQLSTATE HV00B ``fdw_invalid_handle``."""

    sqlstate = "HV00B"


class FdwInvalidOptionIndex(FdwError):
    """SQLSTATE HV00C ``fdw_invalid_option_index``."""

    sqlstate = "HV00C"


class FdwInvalidOptionName(FdwError):
    """SQLSTATE HV00D ``fdw_invalid_option_name``."""

    sqlstate = "HV00D"


class FdwInvalidStringLengthOrBufferLength(FdwError):
    """SQLSTATE HV090 ``fdw_invalid_string_length_or_buffer_length``."""

    sqlstate = "HV090"


class FdwInvalidStringFormat(FdwError):
    """SQLSTATE HV00A ``fdw_invalid_string_format``."""

    sqlstate = "HV00A"


class FdwInvalidUseOfNullPointer(FdwError):
    """SQLSTATE HV009 ``fdw_invalid_use_of_null_pointer``."""

    sqlstate = "HV009"


class FdwTooManyHandles(FdwError):
    """SQLSTATE HV014 ``fdw_too_many_handles``."""

    sqlstate = "HV014"


class FdwOutOfMemory(FdwError):
    """SQLSTATE HV001 ``fdw_out_of_memory``."""

    sqlstate = "HV001"


class FdwNoSchemas(FdwError):
    """SQLSTATE HV00P ``fdw_no_schemas``."""

    sqlstate = "HV00P"


class FdwOptionNameNotFound(FdwError):
    """SQLSTATE HV00J ``fdw_option_name_not_found``."""

    sqlstate = "HV00J"


class FdwReplyHandle(FdwError):
    """SQLSTATE HV00K ``fdw_reply_handle``."""

    sqlstate = "HV00K"


class FdwSchemaNotFound(FdwError):
    """SQLSTATE HV00Q ``fdw_schema_not_found``."""

    sqlstate = "HV00Q"


class FdwTableNotFound(FdwError):
    """SQLSTATE HV00R ``fdw_table_not_found``."""

    sqlstate = "HV00R"


class FdwUnableToCreateExecution(FdwError):
    """SQLSTATE HV00L ``fdw_unable_to_create_execution``."""

    sqlstate = "HV00L"


class FdwUnableToCreateReply(FdwError):
    """SQLSTATE HV00M ``fdw_unable_to_create_reply``."""

    sqlstate = "HV00M"


class FdwUnableToEstablishConnection(FdwError):
    """SQLSTATE HV00N ``fdw_unable_to_establish_connection``."""

    sqlstate = "HV00N"


class PlpgsqlError(QueryError):
    """SQLSTATE P0000 ``plpgsql_error``."""

    sqlstate = "P0000"


class RaiseException(PlpgsqlError):
    """SQLSTATE P0001 ``raise_exception``."""

    sqlstate = "P0001"


class NoDataFound(PlpgsqlError):
    """SQLSTATE P0002 ``no_data_found``."""

    sqlstate = "P0002"


class TooManyRows(PlpgsqlError):
    """SQLSTATE P0003 ``too_many_rows``."""

    sqlstate = "P0003"


class AssertFailure(PlpgsqlError):
    """SQLSTATE P0004 ``assert_failure``."""

    sqlstate = "P0004"


class InternalError(QueryError):
    """SQLSTATE XX000 ``internal_error``."""

    sqlstate = "XX000"


class DataCorrupted(InternalError):
    """SQLSTATE XX001 ``data_corrupted``."""

    sqlstate = "XX001"


class IndexCorrupted(InternalError):
    """SQLSTATE XX002 ``index_corrupted``."""

    sqlstate = "XX002"


SQLSTATE_CLASSES: dict[str, type[QueryError]] = {
    "03000": SqlStatementNotYetComplete,
    "08000": ConnectionException,
    "08003": ConnectionDoesNotExist,
    "08006": ConnectionFailure,
    "08001": SqlclientUnableToEstablishSqlconnection,
    "08004": SqlserverRejectedEstablishmentOfSqlconnection,
    "08007": TransactionResolutionUnknown,
    "08P01": ProtocolViolation,
    "09000": TriggeredActionException,
    "0A000": FeatureNotSupported,
    "0B000": InvalidTransactionInitiation,
    "0F000": LocatorException,
    "0F001": InvalidLocatorSpecification,
    "0L000": InvalidGrantor,
    "0LP01": InvalidGrantOperation,
    "0P000": InvalidRoleSpecification,
    "0Z000": DiagnosticsException,
    "0Z002": StackedDiagnosticsAccessedWithoutActiveHandler,
    "10608": InvalidArgumentForXquery,
    "20000": CaseNotFound,
    "21000": CardinalityViolation,
    "22000": DataException,
    "2202E": ArraySubscriptError,
    "22021": CharacterNotInRepertoire,
    "22008": DatetimeFieldOverflow,
    "22012": DivisionByZero,
    "22005": ErrorInAssignment,
    "2200B": EscapeCharacterConflict,
    "22022": IndicatorOverflow,
    "22015": IntervalFieldOverflow,
    "2201E": InvalidArgumentForLogarithm,
    "22014": InvalidArgumentForNtileFunction,
    "22016": InvalidArgumentForNthValueFunction,
    "2201F": InvalidArgumentForPowerFunction,
    "2201G": InvalidArgumentForWidthBucketFunction,
    "22018": InvalidCharacterValueForCast,
    "22007": InvalidDatetimeFormat,
    "22019": InvalidEscapeCharacter,
    "2200D": InvalidEscapeOctet,
    "22025": InvalidEscapeSequence,
    "22P06": NonstandardUseOfEscapeCharacter,
    "22010": InvalidIndicatorParameterValue,
    "22023": InvalidParameterValue,
    "22013": InvalidPrecedingOrFollowingSize,
    "2201B": InvalidRegularExpression,
    "2201W": InvalidRowCountInLimitClause,
    "2201X": InvalidRowCountInResultOffsetClause,
    "2202H": InvalidTablesampleArgument,
    "2202G": InvalidTablesampleRepeat,
    "22009": InvalidTimeZoneDisplacementValue,
    "2200C": InvalidUseOfEscapeCharacter,
    "2200G": MostSpecificTypeMismatch,
    "22004": NullValueNotAllowed,
    "22002": NullValueNoIndicatorParameter,
    "22003": NumericValueOutOfRange,
    "2200H": SequenceGeneratorLimitExceeded,
    "22026": StringDataLengthMismatch,
    "22001": StringDataRightTruncation,
    "22011": SubstringError,
    "22027": TrimError,
    "22024": UnterminatedCString,
    "2200F": ZeroLengthCharacterString,
    "22P01": FloatingPointException,
    "22P02": InvalidTextRepresentation,
    "22P03": InvalidBinaryRepresentation,
    "22P04": BadCopyFileFormat,
    "22P05": UntranslatableCharacter,
    "2200L": NotAnXmlDocument,
    "2200M": InvalidXmlDocument,
    "2200N": InvalidXmlContent,
    "2200S": InvalidXmlComment,
    "2200T": InvalidXmlProcessingInstruction,
    "22030": DuplicateJsonObjectKeyValue,
    "22031": InvalidArgumentForSqlJsonDatetimeFunction,
    "22032": InvalidJsonText,
    "22033": InvalidSqlJsonSubscript,
    "22034": MoreThanOneSqlJsonItem,
    "22035": NoSqlJsonItem,
    "22036": NonNumericSqlJsonItem,
    "22037": NonUniqueKeysInAJsonObject,
    "22038": SingletonSqlJsonItemRequired,
    "22039": SqlJsonArrayNotFound,
    "2203A": SqlJsonMemberNotFound,
    "2203B": SqlJsonNumberNotFound,
    "2203C": SqlJsonObjectNotFound,
    "2203D": TooManyJsonArrayElements,
    "2203E": TooManyJsonObjectMembers,
    "2203F": SqlJsonScalarRequired,
    "2203G": SqlJsonItemCannotBeCastToTargetType,
    "23000": IntegrityConstraintViolation,
    "23001": RestrictViolation,
    "23502": NotNullViolation,
    "23503": ForeignKeyViolation,
    "23505": UniqueViolation,
    "23514": CheckViolation,
    "23P01": ExclusionViolation,
    "24000": InvalidCursorState,
    "25000": InvalidTransactionState,
    "25001": ActiveSqlTransaction,
    "25002": BranchTransactionAlreadyActive,
    "25008": HeldCursorRequiresSameIsolationLevel,
    "25003": InappropriateAccessModeForBranchTransaction,
    "25004": InappropriateIsolationLevelForBranchTransaction,
    "25005": NoActiveSqlTransactionForBranchTransaction,
    "25006": ReadOnlySqlTransaction,
    "25007": SchemaAndDataStatementMixingNotSupported,
    "25P01": NoActiveSqlTransaction,
    "25P02": InFailedSqlTransaction,
    "25P03": IdleInTransactionSessionTimeout,
    "25P04": TransactionTimeout,
    "26000": InvalidSqlStatementName,
    "27000": TriggeredDataChangeViolation,
    "28000": InvalidAuthorizationSpecification,
    "28P01": InvalidPassword,
    "2B000": DependentPrivilegeDescriptorsStillExist,
    "2BP01": DependentObjectsStillExist,
    "2D000": InvalidTransactionTermination,
    "2F000": SqlRoutineException,
    "2F005": FunctionExecutedNoReturnStatement,
    "2F002": ModifyingSqlDataNotPermitted,
    "2F003": ProhibitedSqlStatementAttempted,
    "2F004": ReadingSqlDataNotPermitted,
    "34000": InvalidCursorName,
    "38000": ExternalRoutineException,
    "38001": ContainingSqlNotPermitted,
    "38002": ExternalRoutineModifyingSqlDataNotPermitted,
    "38003": ExternalRoutineProhibitedSqlStatementAttempted,
    "38004": ExternalRoutineReadingSqlDataNotPermitted,
    "39000": ExternalRoutineInvocationException,
    "39001": InvalidSqlstateReturned,
    "39004": ExternalRoutineInvocationNullValueNotAllowed,
    "39P01": TriggerProtocolViolated,
    "39P02": SrfProtocolViolated,
    "39P03": EventTriggerProtocolViolated,
    "3B000": SavepointException,
    "3B001": InvalidSavepointSpecification,
    "3D000": InvalidCatalogName,
    "3F000": InvalidSchemaName,
    "40000": TransactionRollback,
    "40002": TransactionIntegrityConstraintViolation,
    "40001": SerializationFailure,
    "40003": StatementCompletionUnknown,
    "40P01": DeadlockDetected,
    "42000": SyntaxErrorOrAccessRuleViolation,
    "42601": PostgresSyntaxError,
    "42501": InsufficientPrivilege,
    "42846": CannotCoerce,
    "42803": GroupingError,
    "42P20": WindowingError,
    "42P19": InvalidRecursion,
    "42830": InvalidForeignKey,
    "42602": InvalidName,
    "42622": NameTooLong,
    "42939": ReservedName,
    "42804": DatatypeMismatch,
    "42P18": IndeterminateDatatype,
    "42P21": CollationMismatch,
    "42P22": IndeterminateCollation,
    "42809": WrongObjectType,
    "428C9": GeneratedAlways,
    "42703": UndefinedColumn,
    "42883": UndefinedFunction,
    "42P01": UndefinedTable,
    "42P02": UndefinedParameter,
    "42704": UndefinedObject,
    "42701": DuplicateColumn,
    "42P03": DuplicateCursor,
    "42P04": DuplicateDatabase,
    "42723": DuplicateFunction,
    "42P05": DuplicatePreparedStatement,
    "42P06": DuplicateSchema,
    "42P07": DuplicateTable,
    "42712": DuplicateAlias,
    "42710": DuplicateObject,
    "42702": AmbiguousColumn,
    "42725": AmbiguousFunction,
    "42P08": AmbiguousParameter,
    "42P09": AmbiguousAlias,
    "42P10": InvalidColumnReference,
    "42611": InvalidColumnDefinition,
    "42P11": InvalidCursorDefinition,
    "42P12": InvalidDatabaseDefinition,
    "42P13": InvalidFunctionDefinition,
    "42P14": InvalidPreparedStatementDefinition,
    "42P15": InvalidSchemaDefinition,
    "42P16": InvalidTableDefinition,
    "42P17": InvalidObjectDefinition,
    "44000": WithCheckOptionViolation,
    "53000": InsufficientResources,
    "53100": DiskFull,
    "53200": OutOfMemory,
    "53300": TooManyConnections,
    "53400": ConfigurationLimitExceeded,
    "54000": ProgramLimitExceeded,
    "54001": StatementTooComplex,
    "54011": TooManyColumns,
    "54023": TooManyArguments,
    "55000": ObjectNotInPrerequisiteState,
    "55006": ObjectInUse,
    "55P02": CantChangeRuntimeParam,
    "55P03": LockNotAvailable,
    "55P04": UnsafeNewEnumValueUsage,
    "57000": OperatorIntervention,
    "57014": QueryCanceled,
    "57P01": AdminShutdown,
    "57P02": CrashShutdown,
    "57P03": CannotConnectNow,
    "57P04": DatabaseDropped,
    "57P05": IdleSessionTimeout,
    "58000": PostgresSystemError,
    "58030": IoError,
    "58P01": UndefinedFile,
    "58P02": DuplicateFile,
    "58P03": FileNameTooLong,
    "F0000": ConfigFileError,
    "F0001": LockFileExists,
    "HV000": FdwError,
    "HV005": FdwColumnNameNotFound,
    "HV002": FdwDynamicParameterValueNeeded,
    "HV010": FdwFunctionSequenceError,
    "HV021": FdwInconsistentDescriptorInformation,
    "HV024": FdwInvalidAttributeValue,
    "HV007": FdwInvalidColumnName,
    "HV008": FdwInvalidColumnNumber,
    "HV004": FdwInvalidDataType,
    "HV006": FdwInvalidDataTypeDescriptors,
    "HV091": FdwInvalidDescriptorFieldIdentifier,
    "HV00B": FdwInvalidHandle,
    "HV00C": FdwInvalidOptionIndex,
    "HV00D": FdwInvalidOptionName,
    "HV090": FdwInvalidStringLengthOrBufferLength,
    "HV00A": FdwInvalidStringFormat,
    "HV009": FdwInvalidUseOfNullPointer,
    "HV014": FdwTooManyHandles,
    "HV001": FdwOutOfMemory,
    "HV00P": FdwNoSchemas,
    "HV00J": FdwOptionNameNotFound,
    "HV00K": FdwReplyHandle,
    "HV00Q": FdwSchemaNotFound,
    "HV00R": FdwTableNotFound,
    "HV00L": FdwUnableToCreateExecution,
    "HV00M": FdwUnableToCreateReply,
    "HV00N": FdwUnableToEstablishConnection,
    "P0000": PlpgsqlError,
    "P0001": RaiseException,
    "P0002": NoDataFound,
    "P0003": TooManyRows,
    "P0004": AssertFailure,
    "XX000": InternalError,
    "XX001": DataCorrupted,
    "XX002": IndexCorrupted,
}
"""Every generated class by its SQLSTATE."""

RETRYABLE_SQLSTATES: frozenset[str] = frozenset(
    {
        "08001",
        "08004",
        "40001",
        "40P01",
        "53300",
        "55P03",
        "57P01",
        "57P02",
        "57P03",
        "72000",
    }
)
